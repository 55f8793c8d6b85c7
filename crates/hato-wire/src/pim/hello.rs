//! The PIM Hello message, RFC 7761 §4.9.2, with the options of RFC 7761 §4.9.2 (Holdtime, LAN
//! Prune Delay, DR Priority, Generation ID, Address List) and RFC 3973 §4.7.5.1 (State Refresh
//! Capable). Options this codec does not know (vendor options such as FRR's and pim6sd's) are kept
//! in order with their raw values, so re-encoding is lossless.

use std::fmt;
use std::net::IpAddr;

use hato_core::Afi;
use serde::Serialize;

use super::addr::{read_unicast_any, unicast_any_len, write_unicast_any};
use crate::cursor::{Reader, Writer};
use crate::{Error, Result};

/// Hello option type numbers (RFC 7761 §4.9.2, IANA "PIM-Hello Options").
mod option_type {
    pub const HOLDTIME: u16 = 1;
    pub const LAN_PRUNE_DELAY: u16 = 2;
    pub const DR_PRIORITY: u16 = 19;
    pub const GENERATION_ID: u16 = 20;
    pub const STATE_REFRESH_CAPABLE: u16 = 21;
    pub const ADDRESS_LIST: u16 = 24;
}

/// One Hello option (RFC 7761 §4.9.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HelloOption {
    /// Holdtime (type 1): seconds the neighbour stays alive; 0xffff is forever, 0 means "goodbye".
    Holdtime(u16),
    /// LAN Prune Delay (type 2).
    LanPruneDelay {
        /// T: the sender does not suppress joins (join suppression disabled).
        join_suppression_disabled: bool,
        /// Propagation delay in milliseconds (15 bits).
        propagation_delay: u16,
        /// Override interval in milliseconds.
        override_interval: u16,
    },
    /// DR Priority (type 19).
    DrPriority(u32),
    /// Generation ID (type 20): a random number that changes when the sender restarts.
    GenerationId(u32),
    /// State Refresh Capable (type 21, RFC 3973 §4.7.5.1).
    StateRefreshCapable {
        version: u8,
        /// The State Refresh interval in seconds.
        interval: u8,
        reserved: u16,
    },
    /// Address List (type 24): the sender's secondary addresses. Entries of either family are
    /// accepted: FRR lists its IPv6 addresses in IPv4 Hellos.
    AddressList(Vec<IpAddr>),
    /// Any other option, kept with its raw value.
    Unknown { option_type: u16, value: Vec<u8> },
}

impl HelloOption {
    fn option_type(&self) -> u16 {
        match self {
            HelloOption::Holdtime(_) => option_type::HOLDTIME,
            HelloOption::LanPruneDelay { .. } => option_type::LAN_PRUNE_DELAY,
            HelloOption::DrPriority(_) => option_type::DR_PRIORITY,
            HelloOption::GenerationId(_) => option_type::GENERATION_ID,
            HelloOption::StateRefreshCapable { .. } => option_type::STATE_REFRESH_CAPABLE,
            HelloOption::AddressList(_) => option_type::ADDRESS_LIST,
            HelloOption::Unknown { option_type, .. } => *option_type,
        }
    }

    fn value_len(&self) -> usize {
        match self {
            HelloOption::Holdtime(_) => 2,
            HelloOption::LanPruneDelay { .. }
            | HelloOption::DrPriority(_)
            | HelloOption::GenerationId(_)
            | HelloOption::StateRefreshCapable { .. } => 4,
            HelloOption::AddressList(addrs) => addrs.iter().map(|a| unicast_any_len(*a)).sum(),
            HelloOption::Unknown { value, .. } => value.len(),
        }
    }

    /// Decodes one option from its type and value (RFC 7761 §4.9.2). A known option whose length
    /// is wrong is [`Error::BadLength`].
    fn parse(option_type: u16, value: &[u8]) -> Result<Self> {
        let mut r = Reader::new(value);
        let fixed = |expected: usize| if value.len() == expected { Ok(()) } else { Err(Error::BadLength) };
        let option = match option_type {
            option_type::HOLDTIME => {
                fixed(2)?;
                HelloOption::Holdtime(r.u16()?)
            }
            option_type::LAN_PRUNE_DELAY => {
                fixed(4)?;
                let delay = r.u16()?;
                HelloOption::LanPruneDelay {
                    join_suppression_disabled: delay & 0x8000 != 0,
                    propagation_delay: delay & 0x7fff,
                    override_interval: r.u16()?,
                }
            }
            option_type::DR_PRIORITY => {
                fixed(4)?;
                HelloOption::DrPriority(r.u32()?)
            }
            option_type::GENERATION_ID => {
                fixed(4)?;
                HelloOption::GenerationId(r.u32()?)
            }
            option_type::STATE_REFRESH_CAPABLE => {
                fixed(4)?;
                HelloOption::StateRefreshCapable { version: r.u8()?, interval: r.u8()?, reserved: r.u16()? }
            }
            option_type::ADDRESS_LIST => {
                let mut addrs = Vec::new();
                while !r.is_empty() {
                    addrs.push(read_unicast_any(&mut r).map_err(|e| match e {
                        Error::Truncated => Error::BadLength,
                        other => other,
                    })?);
                }
                HelloOption::AddressList(addrs)
            }
            _ => HelloOption::Unknown { option_type, value: value.to_vec() },
        };
        Ok(option)
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let len = u16::try_from(self.value_len()).map_err(|_| Error::BadLength)?;
        w.u16(self.option_type())?;
        w.u16(len)?;
        match self {
            HelloOption::Holdtime(t) => w.u16(*t),
            HelloOption::LanPruneDelay {
                join_suppression_disabled,
                propagation_delay,
                override_interval,
            } => {
                if *propagation_delay > 0x7fff {
                    return Err(Error::Malformed);
                }
                let t_bit = if *join_suppression_disabled { 0x8000 } else { 0 };
                w.u16(t_bit | propagation_delay)?;
                w.u16(*override_interval)
            }
            HelloOption::DrPriority(v) | HelloOption::GenerationId(v) => w.u32(*v),
            HelloOption::StateRefreshCapable { version, interval, reserved } => {
                w.u8(*version)?;
                w.u8(*interval)?;
                w.u16(*reserved)
            }
            HelloOption::AddressList(addrs) => addrs.iter().try_for_each(|a| write_unicast_any(w, *a)),
            HelloOption::Unknown { value, .. } => w.bytes(value),
        }
    }
}

impl fmt::Display for HelloOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HelloOption::Holdtime(t) => write!(f, "holdtime {t}s"),
            HelloOption::LanPruneDelay {
                join_suppression_disabled,
                propagation_delay,
                override_interval,
            } => {
                write!(f, "lan-prune-delay {propagation_delay}ms override {override_interval}ms")?;
                if *join_suppression_disabled {
                    f.write_str(" T")?;
                }
                Ok(())
            }
            HelloOption::DrPriority(p) => write!(f, "dr-priority {p}"),
            HelloOption::GenerationId(g) => write!(f, "genid 0x{g:08x}"),
            HelloOption::StateRefreshCapable { version, interval, .. } => {
                write!(f, "state-refresh v{version} {interval}s")
            }
            HelloOption::AddressList(addrs) => {
                f.write_str("addresses")?;
                addrs.iter().try_for_each(|a| write!(f, " {a}"))
            }
            HelloOption::Unknown { option_type, value } => {
                write!(f, "option {option_type} ({} bytes)", value.len())
            }
        }
    }
}

/// A Hello message (RFC 7761 §4.9.2): a list of options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Hello {
    pub options: Vec<HelloOption>,
}

impl Hello {
    /// The Holdtime option's value, if present.
    pub fn holdtime(&self) -> Option<u16> {
        self.options.iter().find_map(|o| match o {
            HelloOption::Holdtime(t) => Some(*t),
            _ => None,
        })
    }

    /// The DR Priority option's value, if present.
    pub fn dr_priority(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            HelloOption::DrPriority(p) => Some(*p),
            _ => None,
        })
    }

    /// The Generation ID option's value, if present.
    pub fn generation_id(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            HelloOption::GenerationId(g) => Some(*g),
            _ => None,
        })
    }

    /// The LAN Prune Delay option as (T bit, propagation delay ms, override interval ms).
    pub fn lan_prune_delay(&self) -> Option<(bool, u16, u16)> {
        self.options.iter().find_map(|o| match o {
            HelloOption::LanPruneDelay {
                join_suppression_disabled,
                propagation_delay,
                override_interval,
            } => Some((*join_suppression_disabled, *propagation_delay, *override_interval)),
            _ => None,
        })
    }

    /// The State Refresh interval in seconds, if the sender is State Refresh capable (RFC 3973).
    pub fn state_refresh_interval(&self) -> Option<u8> {
        self.options.iter().find_map(|o| match o {
            HelloOption::StateRefreshCapable { interval, .. } => Some(*interval),
            _ => None,
        })
    }

    /// The secondary addresses of family `A` from every Address List option.
    pub fn secondary_addresses<A: Afi>(&self) -> impl Iterator<Item = A::Addr> + '_ {
        self.options
            .iter()
            .filter_map(|o| match o {
                HelloOption::AddressList(addrs) => Some(addrs),
                _ => None,
            })
            .flatten()
            .filter_map(|a| A::from_ip(*a))
    }

    pub(crate) fn parse_body(r: &mut Reader<'_>) -> Result<Self> {
        let mut options = Vec::new();
        while !r.is_empty() {
            let option_type = r.u16()?;
            let len = r.u16()?;
            let value = r.bytes(usize::from(len))?;
            options.push(HelloOption::parse(option_type, value)?);
        }
        Ok(Hello { options })
    }

    pub(crate) fn body_len(&self) -> usize {
        self.options.iter().map(|o| 4 + o.value_len()).sum()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        self.options.iter().try_for_each(|o| o.emit(w))
    }
}

impl fmt::Display for Hello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hello")?;
        for (i, option) in self.options.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{option}")?;
        }
        Ok(())
    }
}
