//! Data-driven behaviour and Register (RFC 7761 §4.2, §4.4): kernel upcalls and traffic reports
//! start keepalive timers, set the SPT bit and switch last-hop routers to the source tree; the DR
//! encapsulates to the RP (§4.4.1) and the RP decapsulates, joins toward the source and answers
//! with Register-Stop (§4.4.2).

use hato_core::{AddressFamily, Afi, IfIndex, Instant, SgKey};
use hato_wire::checksum::checksum;
use hato_wire::pim::{EncodedGroup, PimMessage, Register, RegisterStop, IP_PROTOCOL};

use crate::config::SptPolicy;
use crate::fsm::register::{self, RegisterAction, RegisterEvent, RegisterState};
use crate::fsm::upstream::UpstreamState;
use crate::io::{ByteCount, DropReason, MachineState, Output};
use crate::router::{PimRouter, Timer};

/// The dummy IP header of a Null-Register (§4.4.1): source S, destination G, no payload.
fn null_register_packet<A: Afi>(source: A::Addr, group: A::Addr) -> Vec<u8> {
    match A::FAMILY {
        AddressFamily::Ipv4 => {
            let mut h = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 1, IP_PROTOCOL, 0, 0];
            h.extend_from_slice(&[0; 8]);
            A::write_addr(source, h.get_mut(12..16).unwrap_or_default());
            A::write_addr(group, h.get_mut(16..20).unwrap_or_default());
            let sum = checksum(&h).to_be_bytes();
            if let Some(c) = h.get_mut(10..12) {
                c.copy_from_slice(&sum);
            }
            h
        }
        AddressFamily::Ipv6 => {
            // Next header 59: no next header.
            let mut h = vec![0x60, 0, 0, 0, 0, 0, 59, 1];
            h.extend_from_slice(&[0; 32]);
            A::write_addr(source, h.get_mut(8..24).unwrap_or_default());
            A::write_addr(group, h.get_mut(24..40).unwrap_or_default());
            h
        }
    }
}

impl<A: Afi> PimRouter<A> {
    /// A data packet from `source` to `group` arrived on `iif` (§4.2): keepalive, SPT bit, the
    /// last-hop switch to the SPT, and a cache entry so that the kernel stops asking.
    pub(crate) fn data_arrived(
        &mut self,
        now: Instant,
        iif: IfIndex,
        source: A::Addr,
        group: A::Addr,
        out: &mut Vec<Output<A>>,
    ) {
        if !A::is_multicast(group) || A::is_link_local_group(group) {
            return;
        }
        let rpf_s = self.rpf_interface(source);
        let on_spt_iif = rpf_s == Some(iif);
        if !self.sources.contains_key(&(group, source)) {
            if !self.ensure_source(group, source, out) {
                return;
            }
            let lifetime = if self.is_ssm(group) {
                self.config.ssm_negative_cache_holdtime
            } else {
                self.config.data_timeout
            };
            self.arm_data_timer(Timer::DataTimeout(group, source), now, lifetime);
        }
        if !self.rpf.contains_key(&source) {
            // The RPF watch for S is requested when the group is re-evaluated; the arrival is
            // replayed when the answer comes.
            self.pending_arrivals.insert((group, source), iif);
            self.dirty.insert(group);
            return;
        }
        let keepalive = self.config.keepalive_period;
        // §4.2: a directly connected source's DR, or a router joined on the SPT, keeps (S,G) alive.
        if on_spt_iif && self.directly_connected(source) && self.i_am_dr(iif) {
            self.arm_data_timer(Timer::Keepalive(group, source), now, keepalive);
        }
        let joined = self.sources.get(&(group, source)).is_some_and(|e| e.upstream == UpstreamState::Joined);
        if on_spt_iif && joined && !self.inherited_olist_sg(source, group).is_empty() {
            self.arm_data_timer(Timer::Keepalive(group, source), now, keepalive);
        }
        self.update_spt_bit(source, group, iif);
        let spt_bit = self.sources.get(&(group, source)).is_some_and(|e| e.spt_bit);
        let rp_iif =
            self.rp_for(group).filter(|_| !self.i_am_rp(group)).and_then(|rp| self.rpf_interface(rp));
        if !spt_bit && rp_iif == Some(iif) {
            self.check_switch_to_spt(now, source, group);
        }
        self.dirty.insert(group);
    }

    /// `Update_SPTbit(S,G,iif)` (§4.2.2).
    fn update_spt_bit(&mut self, source: A::Addr, group: A::Addr, iif: IfIndex) {
        let rpf_s = self.rpf_interface(source);
        if rpf_s != Some(iif) || !self.join_desired_sg(source, group) {
            return;
        }
        let rp_iif =
            self.rp_for(group).filter(|_| !self.i_am_rp(group)).and_then(|rp| self.rpf_interface(rp));
        let sg_prime = self.rpf_prime_sg(source, group);
        let set = self.directly_connected(source)
            || rpf_s != rp_iif
            || self.inherited_olist_sg_rpt(source, group).is_empty()
            || (sg_prime.is_some() && sg_prime == self.rpf_prime_star_g(group))
            || self.i_am_assert_loser_sg(source, group, iif);
        if set {
            if let Some(e) = self.sources.get_mut(&(group, source)) {
                e.spt_bit = true;
            }
        }
    }

    /// `CheckSwitchToSpt(S,G)` (§4.2.1): with local receivers and the policy's consent, start the
    /// Keepalive Timer, which makes JoinDesired(S,G) true.
    fn check_switch_to_spt(&mut self, now: Instant, source: A::Addr, group: A::Addr) {
        let mut local = self.pim_include_star_g(group);
        for i in self.pim_exclude_sg(source, group) {
            local.remove(&i);
        }
        local.extend(self.pim_include_sg(source, group));
        if !local.is_empty() && self.switch_to_spt_desired(source, group) {
            let keepalive = self.config.keepalive_period;
            self.arm_data_timer(Timer::Keepalive(group, source), now, keepalive);
        }
    }

    /// A counter dump (§4.2.1, rate-threshold policy): for each (S,G) still on the shared tree
    /// under a threshold policy, the rate since the previous dump; above the threshold the
    /// switch is desired from then on, and CheckSwitchToSpt runs at once. Other entries cost one
    /// lookup each.
    pub(crate) fn byte_counts(&mut self, now: Instant, counts: &[ByteCount<A>]) {
        let default_threshold = matches!(self.config.spt_policy, SptPolicy::Threshold { .. });
        if !default_threshold
            && self.spt_policies.iter().all(|(_, p)| !matches!(p, SptPolicy::Threshold { .. }))
        {
            return;
        }
        for c in counts {
            let key = (c.group, c.source);
            let SptPolicy::Threshold { kbit_per_sec } = self.spt_policy_for(c.group) else { continue };
            if self.spt_rate_exceeded.contains(&key) || self.sources.get(&key).map_or(true, |e| e.spt_bit) {
                continue;
            }
            let previous = self.rate_samples.insert(key, (c.bytes, now));
            let Some((bytes, then)) = previous else { continue };
            let millis = u64::try_from(now.saturating_since(then).as_millis()).unwrap_or(u64::MAX);
            if millis == 0 {
                continue;
            }
            // bits per millisecond = kbit/s.
            let rate = c.bytes.saturating_sub(bytes).saturating_mul(8) / millis;
            if rate > kbit_per_sec {
                self.spt_rate_exceeded.insert(key);
                self.rate_samples.remove(&key);
                self.check_switch_to_spt(now, c.source, c.group);
                self.dirty.insert(c.group);
            }
        }
    }

    /// The (S,G) entry forwarded traffic on its incoming interface.
    pub(crate) fn traffic_seen(
        &mut self,
        now: Instant,
        source: A::Addr,
        group: A::Addr,
        out: &mut Vec<Output<A>>,
    ) {
        let intent = self.sources.get(&(group, source)).and_then(|e| e.intent.as_ref());
        let Some(iif) = intent.and_then(|i| i.iif) else {
            return;
        };
        if self.data_timer_running(Timer::DataTimeout(group, source)) {
            let lifetime = self.config.data_timeout;
            self.arm_data_timer(Timer::DataTimeout(group, source), now, lifetime);
        }
        self.data_arrived(now, iif, source, group, out);
    }

    /// A packet the kernel sent to the register VIF: Register it to the RP (§4.4.1).
    pub(crate) fn whole_packet(
        &mut self,
        source: A::Addr,
        group: A::Addr,
        packet: Vec<u8>,
        out: &mut Vec<Output<A>>,
    ) {
        let registering =
            self.sources.get(&(group, source)).is_some_and(|e| e.register == RegisterState::Join);
        if !registering {
            self.drop_input(DropReason::NotRegistering, None, Some(source), out);
            return;
        }
        self.send_register(source, group, Register::data(packet), out);
    }

    fn send_register(
        &mut self,
        source: A::Addr,
        group: A::Addr,
        register: Register,
        out: &mut Vec<Output<A>>,
    ) {
        let Some(rp) = self.rp_for(group) else { return };
        match self.rpf_interface(rp) {
            Some(ifindex) => {
                out.push(Output::Send { ifindex, dst: rp, message: PimMessage::Register(register) })
            }
            None => self.drop_input(DropReason::NoRoute, None, Some(source), out),
        }
    }

    /// Register processing at the RP (§4.4.2).
    pub(crate) fn receive_register(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        dr: A::Addr,
        destination: A::Addr,
        register: Register,
        out: &mut Vec<Output<A>>,
    ) {
        let Some((source, group)) = register.inner_source_group::<A>() else {
            self.drop_input(DropReason::BadRegister, Some(ifindex), Some(dr), out);
            return;
        };
        if !A::is_multicast(group) || A::is_link_local_group(group) {
            self.drop_input(DropReason::BadRegister, Some(ifindex), Some(dr), out);
            return;
        }
        let stop = |out: &mut Vec<Output<A>>| {
            out.push(Output::Send {
                ifindex,
                dst: dr,
                message: PimMessage::RegisterStop(RegisterStop { group: EncodedGroup::host(group), source }),
            });
        };
        if !self.i_am_rp(group) || self.rp_for(group) != Some(destination) {
            self.drop_input(DropReason::RegisterNotRp, Some(ifindex), Some(dr), out);
            stop(out);
            return;
        }
        if !self.ensure_source(group, source, out) {
            return;
        }
        let spt_bit = self.sources.get(&(group, source)).is_some_and(|e| e.spt_bit);
        let switch = self.switch_to_spt_desired(source, group);
        let mut sent_stop = false;
        if spt_bit || (switch && self.inherited_olist_sg(source, group).is_empty()) {
            stop(out);
            sent_stop = true;
        }
        if spt_bit || switch {
            let period =
                if sent_stop { self.config.rp_keepalive_period() } else { self.config.keepalive_period };
            self.arm_data_timer(Timer::Keepalive(group, source), now, period);
        }
        if !spt_bit && !register.null_register {
            let oifs: Vec<IfIndex> = self.inherited_olist_sg_rpt(source, group).keys().copied().collect();
            if !oifs.is_empty() {
                out.push(Output::ForwardDecapsulated {
                    key: SgKey::sg(source, group),
                    packet: register.packet,
                    oifs,
                });
            }
        }
        self.dirty.insert(group);
    }

    /// Register-Stop at the DR (§4.4.1); a wildcard source stops every source of the group.
    pub(crate) fn receive_register_stop(
        &mut self,
        now: Instant,
        stop: &RegisterStop<A>,
        out: &mut Vec<Output<A>>,
    ) {
        let group = stop.group.group;
        let sources: Vec<A::Addr> = if stop.source == A::UNSPECIFIED {
            self.group_sources(group).collect()
        } else {
            vec![stop.source]
        };
        for source in sources {
            self.register_event(now, group, source, RegisterEvent::RegisterStopReceived, out);
        }
    }

    /// Feeds one event to the register machine of (S,G) (§4.4.1).
    pub(crate) fn register_event(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: A::Addr,
        event: RegisterEvent,
        out: &mut Vec<Output<A>>,
    ) {
        let Some(entry) = self.sources.get(&(group, source)) else { return };
        let state = entry.register;
        let step = register::transition(state, event);
        let timer = Timer::RegisterStop(group, source);
        let rp = self.rp_for(group);
        for action in step.actions {
            match action {
                RegisterAction::AddTunnel | RegisterAction::UpdateTunnel => {
                    if let Some(e) = self.sources.get_mut(&(group, source)) {
                        e.register_rp = rp;
                    }
                }
                RegisterAction::RemoveTunnel => {}
                RegisterAction::SetSuppressionTimer => {
                    let suppression = self.config.register_suppression_time;
                    let jittered = self.rng.between(suppression.mul_f64(0.5), suppression.mul_f64(1.5));
                    let delay = jittered.saturating_sub(self.config.register_probe_time);
                    self.arm(timer.clone(), now, delay);
                }
                RegisterAction::SetProbeTimer => {
                    let probe = self.config.register_probe_time;
                    self.arm(timer.clone(), now, probe);
                }
                RegisterAction::CancelTimer => {
                    self.cancel_timer(&timer);
                }
                RegisterAction::SendNullRegister => {
                    let register = Register {
                        border: false,
                        null_register: true,
                        reserved: 0,
                        packet: null_register_packet::<A>(source, group),
                    };
                    self.send_register(source, group, register, out);
                }
            }
        }
        let (from, to) = (MachineState::Register(state), MachineState::Register(step.next));
        self.log_state(SgKey::sg(source, group), None, from, to, out);
        if let Some(e) = self.sources.get_mut(&(group, source)) {
            e.register = step.next;
            if step.next == RegisterState::NoInfo {
                e.register_rp = None;
            }
        }
        self.dirty.insert(group);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::{V4, V6};

    #[test]
    fn null_register_headers_decode() {
        let s4 = "198.18.1.10".parse().unwrap();
        let g4 = "239.1.1.1".parse().unwrap();
        let p = null_register_packet::<V4>(s4, g4);
        assert_eq!(checksum(&p), 0);
        let r = Register { border: false, null_register: true, reserved: 0, packet: p };
        assert_eq!(r.inner_source_group::<V4>(), Some((s4, g4)));
        let s6 = "fd00::10".parse().unwrap();
        let g6 = "ff3e::1".parse().unwrap();
        let r = Register::data(null_register_packet::<V6>(s6, g6));
        assert_eq!(r.inner_source_group::<V6>(), Some((s6, g6)));
    }
}
