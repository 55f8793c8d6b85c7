//! PIM neighbours played by the benchmark: one raw PIM socket (IP protocol 103) opened inside each
//! neighbour namespace, sending Hellos (RFC 7761 §4.9.2) and (S,G) Joins aggregated into
//! Join/Prune messages split to the link MTU (§4.9.5, §4.9.5.2), built with hato-wire's codecs.
//! The neighbour never reads: its socket joins no group, so nothing queues on it.

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;

use hato_core::{IfIndex, V4};
use hato_kernel::socket::ProtocolSocket;
use hato_kernel::sys;
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::{
    split_join_prune, EncodedGroup, EncodedSource, Hello, HelloOption, JoinPruneGroup, PimMessage,
};

/// ALL-PIM-ROUTERS (RFC 7761 §4.9.1).
const ALL_PIM_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);
/// The largest PIM message that fits a 1,500-octet Ethernet frame behind a 20-octet IPv4 header.
const MAX_PIM_MESSAGE: usize = 1_500 - 20;
/// Hello holdtime: 3.5 × the 30 s Hello period (RFC 7761 §4.11).
const HELLO_HOLDTIME_SECS: u16 = 105;
/// Join/Prune holdtime: 3.5 × the 60 s Join/Prune period (RFC 7761 §4.11).
pub const JOIN_HOLDTIME_SECS: u16 = 210;

/// Runs `f` in a fresh thread that entered the named network namespace; sockets opened there stay
/// in it.
pub fn in_netns<T: Send + 'static>(
    netns: &str,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        let file = File::open(&path)?;
        sys::enter_netns(file.as_fd())?;
        f()
    })
    .join()
    .map_err(|_| io::Error::other("namespace thread panicked"))?
}

/// One downstream PIM neighbour of the router under test.
#[derive(Debug)]
pub struct Neighbour {
    socket: ProtocolSocket<V4>,
    ifindex: IfIndex,
    hello: Vec<u8>,
    joins: Vec<Vec<u8>>,
    entries: usize,
}

impl Neighbour {
    /// Opens the neighbour's socket on `iface` in `netns` and encodes its messages: a Hello with
    /// Generation ID `generation_id`, and Joins for every `(source, group)` pair of `groups` ×
    /// `sources`, addressed to `router` (the upstream neighbour field).
    pub fn open(
        netns: &str,
        iface: &str,
        router: Ipv4Addr,
        generation_id: u32,
        groups: &[Ipv4Addr],
        sources: &[Ipv4Addr],
    ) -> io::Result<Self> {
        let iface = iface.to_string();
        let (socket, ifindex) = in_netns(netns, move || {
            let socket = ProtocolSocket::<V4>::pim()?;
            Ok((socket, IfIndex(sys::if_nametoindex(&iface)?)))
        })?;
        let encode = |message: &PimMessage<V4>| {
            message.to_bytes(ChecksumContext::Plain).map_err(|e| io::Error::other(e.to_string()))
        };
        let hello = encode(&PimMessage::Hello(Hello {
            options: vec![
                HelloOption::Holdtime(HELLO_HOLDTIME_SECS),
                HelloOption::DrPriority(1),
                HelloOption::GenerationId(generation_id),
            ],
        }))?;
        let sets = groups.iter().map(|&group| JoinPruneGroup {
            group: EncodedGroup::host(group),
            joins: sources.iter().map(|&s| EncodedSource::sg(s)).collect(),
            prunes: Vec::new(),
        });
        let messages = split_join_prune(router, JOIN_HOLDTIME_SECS, sets, MAX_PIM_MESSAGE)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let joins = messages
            .into_iter()
            .map(|jp| encode(&PimMessage::JoinPrune(jp)))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Neighbour { socket, ifindex, hello, joins, entries: groups.len() * sources.len() })
    }

    /// Sends one Hello.
    pub fn send_hello(&self) -> io::Result<()> {
        self.send(&self.hello)
    }

    /// The encoded Join/Prune messages, in sending order.
    pub fn join_messages(&self) -> &[Vec<u8>] {
        &self.joins
    }

    /// The (S,G) entries this neighbour joins.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Sends one PIM message to ALL-PIM-ROUTERS out of the neighbour's interface.
    pub fn send(&self, message: &[u8]) -> io::Result<()> {
        self.socket.send(message, ALL_PIM_ROUTERS, Some(self.ifindex), None).map(drop)
    }

    /// Sends every Join/Prune message.
    pub fn send_joins(&self) -> io::Result<()> {
        self.joins.iter().try_for_each(|m| self.send(m))
    }
}

/// Sends the Join/Prune messages of all `neighbours` interleaved (one message of each in turn), as
/// neighbours whose periodic timers fire together would. Returns the number of messages sent.
pub fn send_all_joins(neighbours: &[Neighbour]) -> io::Result<usize> {
    let longest = neighbours.iter().map(|n| n.join_messages().len()).max().unwrap_or(0);
    let mut sent = 0;
    for i in 0..longest {
        for neighbour in neighbours {
            if let Some(message) = neighbour.join_messages().get(i) {
                neighbour.send(message)?;
                sent += 1;
            }
        }
    }
    Ok(sent)
}
