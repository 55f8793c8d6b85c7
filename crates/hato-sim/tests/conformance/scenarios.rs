//! The scenarios, each run on a freshly flushed table with VIF 0 on the upstream interface and
//! VIF 1 on the downstream one; each uses its own groups so that nothing carries over.

use std::time::Duration;

use hato_core::{ForwardingPlane, MfcCounters, MfcEntry, SgKey, Upcall, Vif, VifId, VifKind};

use super::{Family, PlaneHarness, PAYLOAD};

const UP: VifId = VifId(0);
const DOWN: VifId = VifId(1);
/// Linux errno values.
const ENOENT: i32 = 2;
const EADDRINUSE: i32 = 98;
const EADDRNOTAVAIL: i32 = 99;

/// Every scenario of a table in [`Modes::PIM`](super::Modes::PIM), in order.
pub fn run_all<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    vif_per_interface(h);
    source_entry_forwards_and_counts(h);
    deleted_entry_stops_forwarding(h);
    unknown_source_group_raises_nocache(h);
    traffic_off_the_incoming_vif_raises_wrongvif(h);
    ttl_thresholds(h);
    flush_empties_the_table(h);
    queued_packets_follow_the_install(h);
    star_g_lookup(h);
    wrongvif_is_rate_limited(h);
    register_vif_hands_packets_up_whole(h);
    deleted_vif_is_skipped_until_recreated(h);
    arrival_without_vif(h);
}

fn packet_len<A: Family>() -> u64 {
    A::HEADERS + PAYLOAD.len() as u64
}

fn entry<A: Family>(key: SgKey<A>, iif: VifId, oifs: &[(VifId, u8)]) -> MfcEntry<A> {
    MfcEntry { key, iif, oifs: oifs.iter().copied().collect() }
}

fn set<A: Family, H: PlaneHarness<A>>(h: &mut H, entry: &MfcEntry<A>) {
    let name = h.name();
    h.plane().set_mfc(entry).unwrap_or_else(|e| panic!("{name}: set {entry}: {e}"));
}

fn interface_vif(id: VifId, ifindex: hato_core::IfIndex) -> Vif {
    Vif { id, kind: VifKind::Interface(ifindex), ttl_threshold: 1 }
}

/// Empties the table and creates the two interface VIFs.
fn setup<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    let name = h.name();
    h.plane().flush().unwrap_or_else(|e| panic!("{name}: flush: {e}"));
    h.drain_upcalls();
    let (up, down) = (interface_vif(UP, h.upstream()), interface_vif(DOWN, h.downstream()));
    for vif in [up, down] {
        h.plane().add_vif(&vif).unwrap_or_else(|e| panic!("{name}: add {vif:?}: {e}"));
    }
}

fn errno_of<A: Family, H: PlaneHarness<A>>(
    result: Result<(), <H::Plane as ForwardingPlane<A>>::Error>,
) -> Option<i32> {
    result.err().and_then(|e| H::errno(&e))
}

/// VIFs: one per interface and one register VIF at most; the kernel's errors for misuse.
pub fn vif_per_interface<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let again = interface_vif(UP, h.upstream());
    assert_eq!(errno_of::<A, H>(h.plane().add_vif(&again)), Some(EADDRINUSE), "{name}: VIF id in use");
    assert_eq!(
        errno_of::<A, H>(h.plane().del_vif(VifId(5))),
        Some(EADDRNOTAVAIL),
        "{name}: deleting a free id"
    );
    let register = |id| Vif { id: VifId(id), kind: VifKind::Register, ttl_threshold: 1 };
    h.plane().add_vif(&register(2)).unwrap_or_else(|e| panic!("{name}: register VIF: {e}"));
    assert_eq!(
        errno_of::<A, H>(h.plane().add_vif(&register(3))),
        Some(EADDRINUSE),
        "{name}: second register VIF"
    );
    h.plane().del_vif(VifId(2)).unwrap_or_else(|e| panic!("{name}: deleting the register VIF: {e}"));
    assert!(h.plane().add_vif(&register(3)).is_ok(), "{name}: register VIF after deleting the first");
    let beyond = interface_vif(VifId(32), h.upstream());
    assert!(h.plane().add_vif(&beyond).is_err(), "{name}: VIF 32");
    let key = SgKey::sg(A::source(), A::group(1));
    assert_eq!(errno_of::<A, H>(h.plane().del_mfc(key)), Some(ENOENT), "{name}: deleting a missing entry");
}

/// An (S,G) entry forwards every packet to the receiver and counts them.
pub fn source_entry_forwards_and_counts<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(10);
    let key = SgKey::sg(A::source(), group);
    h.listen(group);
    set(h, &entry(key, UP, &[(DOWN, 1)]));
    for _ in 0..10 {
        h.send(group, 8);
    }
    assert_eq!(h.received(group, 10), 10, "{name}: forwarded packets");
    let counters = h.counters();
    let expected = MfcCounters { packets: 10, bytes: 10 * packet_len::<A>(), wrong_if: 0 };
    assert_eq!(counters.get(&key), Some(&expected), "{name}: counters {counters:?}");
}

/// Deleting the entry stops forwarding; the next packet misses the cache.
pub fn deleted_entry_stops_forwarding<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(11);
    let key = SgKey::sg(A::source(), group);
    h.listen(group);
    set(h, &entry(key, UP, &[(DOWN, 1)]));
    h.send(group, 8);
    assert_eq!(h.received(group, 1), 1, "{name}: forwarded before the delete");
    h.plane().del_mfc(key).unwrap_or_else(|e| panic!("{name}: del: {e}"));
    assert!(!h.counters().contains_key(&key), "{name}: deleted entry still counted");
    h.send(group, 8);
    let up = h.wait_upcall("nocache after delete", |u| matches!(u, Upcall::NoCache { .. }));
    assert_eq!(up, Upcall::NoCache { vif: UP, source: A::source(), group }, "{name}");
    // The upcall follows the packet's pass through the router: a copy would be there by now.
    assert_eq!(h.received(group, 0), 1, "{name}: forwarded after the delete");
}

/// Traffic without an entry raises NOCACHE on its arrival VIF and is not forwarded.
pub fn unknown_source_group_raises_nocache<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(12);
    h.listen(group);
    h.send(group, 8);
    let up = h.wait_upcall("nocache", |u| matches!(u, Upcall::NoCache { .. }));
    assert_eq!(up, Upcall::NoCache { vif: UP, source: A::source(), group }, "{name}");
    assert_eq!(h.received(group, 0), 0, "{name}: forwarded without an entry");
    assert!(h.counters().is_empty(), "{name}: unresolved entries have no counters");
}

/// Traffic arriving on a VIF other than the entry's incoming one: WRONGVIF, `wrong_if`, dropped.
pub fn traffic_off_the_incoming_vif_raises_wrongvif<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(13);
    let key = SgKey::sg(A::source(), group);
    h.listen(group);
    set(h, &entry(key, DOWN, &[(UP, 1)]));
    h.send(group, 8);
    let up = h.wait_upcall("wrongvif", |u| matches!(u, Upcall::WrongVif { .. }));
    assert_eq!(up, Upcall::WrongVif { vif: UP, source: A::source(), group }, "{name}");
    let counters = h.counters();
    let expected = MfcCounters { packets: 1, bytes: packet_len::<A>(), wrong_if: 1 };
    assert_eq!(counters.get(&key), Some(&expected), "{name}: counters {counters:?}");
    assert_eq!(h.received(group, 0), 0, "{name}: forwarded from the wrong VIF");
}

/// A copy leaves only when the TTL exceeds the outgoing VIF's threshold (IPv4; IPv6 MIFs have
/// threshold 1); TTL 1 never leaves; every packet counts.
pub fn ttl_thresholds<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(14);
    let key = SgKey::sg(A::source(), group);
    h.listen(group);
    set(h, &entry(key, UP, &[(DOWN, 5)]));
    // Packets travel one path in order: once the last expected copy is in, earlier ones are too.
    h.send(group, 1);
    h.send(group, 5);
    h.send(group, 6);
    let expected = if A::THRESHOLDS_APPLY { 1 } else { 2 };
    assert_eq!(h.received(group, expected), expected, "{name}: copies past a threshold of 5");
    h.send(group, 2);
    h.send(group, 7);
    let expected = if A::THRESHOLDS_APPLY { 2 } else { 4 };
    assert_eq!(h.received(group, expected), expected, "{name}: copies after TTL 2 and 7");
    let counters = h.counters();
    assert_eq!(counters.get(&key).map(|c| c.packets), Some(5), "{name}: counters {counters:?}");
}

/// Flushing removes every entry and every VIF.
pub fn flush_empties_the_table<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(15);
    set(h, &entry(SgKey::sg(A::source(), group), UP, &[(DOWN, 1)]));
    set(h, &entry(SgKey::star_g(group), UP, &[(UP, 1), (DOWN, 1)]));
    assert_eq!(h.counters().len(), 2, "{name}: two entries");
    h.plane().flush().unwrap_or_else(|e| panic!("{name}: flush: {e}"));
    assert!(h.counters().is_empty(), "{name}: entries after flush");
    let up = interface_vif(UP, h.upstream());
    assert!(h.plane().add_vif(&up).is_ok(), "{name}: VIF 0 is free again after flush");
}

/// Packets that missed the cache wait (at most 4 per (S,G)) and follow once the entry is installed.
pub fn queued_packets_follow_the_install<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(16);
    let key = SgKey::sg(A::source(), group);
    h.listen(group);
    for _ in 0..6 {
        h.send(group, 8);
    }
    let up = h.wait_upcall("nocache", |u| matches!(u, Upcall::NoCache { .. }));
    assert_eq!(up, Upcall::NoCache { vif: UP, source: A::source(), group }, "{name}");
    set(h, &entry(key, UP, &[(DOWN, 1)]));
    assert_eq!(h.received(group, 4), 4, "{name}: released packets");
    h.send(group, 8);
    assert_eq!(h.received(group, 5), 5, "{name}: queued packets beyond 4 were dropped");
    let counters = h.counters();
    assert_eq!(counters.get(&key).map(|c| c.packets), Some(5), "{name}: counters {counters:?}");
}

/// (S,G) entries take precedence over (*,G); a (*,G) entry matches only traffic arriving on one
/// of its outgoing VIFs, so its incoming VIF must be listed among them to forward from it.
pub fn star_g_lookup<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(17);
    let (star, sg) = (SgKey::star_g(group), SgKey::sg(A::source(), group));
    h.listen(group);
    set(h, &entry(star, UP, &[(DOWN, 1)]));
    h.send(group, 8);
    let up = h.wait_upcall("nocache despite (*,G)", |u| matches!(u, Upcall::NoCache { .. }));
    assert_eq!(up, Upcall::NoCache { vif: UP, source: A::source(), group }, "{name}");
    assert_eq!(h.received(group, 0), 0, "{name}: (*,G) forwarded from its incoming VIF");

    set(h, &entry(star, UP, &[(UP, 1), (DOWN, 1)]));
    h.send(group, 8);
    assert_eq!(h.received(group, 1), 1, "{name}: (*,G) listing its incoming VIF forwards");
    assert_eq!(h.counters().get(&star).map(|c| c.packets), Some(1), "{name}: (*,G) counters");

    // An (S,G) without outgoing VIFs wins: nothing is forwarded, the (S,G) counts. Installing it
    // also releases the packet queued by the first miss, which it counts too.
    set(h, &entry(sg, UP, &[]));
    h.send(group, 8);
    h.plane().del_mfc(sg).unwrap_or_else(|e| panic!("{name}: del: {e}"));
    h.send(group, 8);
    assert_eq!(h.received(group, 2), 2, "{name}: only the (*,G) forwarded");
    let counters = h.counters();
    assert_eq!(counters.get(&star).map(|c| c.packets), Some(2), "{name}: (*,G) counters {counters:?}");
}

/// Sends a packet to an unknown `marker` group and waits for its NOCACHE: upcalls come in the
/// order of the packets that raised them, so every upcall of earlier packets is in by then and
/// returned.
fn sync_on_marker<A: Family, H: PlaneHarness<A>>(h: &mut H, marker: A::Addr) -> Vec<Upcall<A>> {
    h.send(marker, 8);
    let mut before = Vec::new();
    loop {
        match h.next_upcall() {
            Some(Upcall::NoCache { group, .. }) if group == marker => return before,
            Some(other) => before.push(other),
            None => panic!("{}: no NOCACHE for the marker; before it: {before:?}", h.name()),
        }
    }
}

/// At most one WRONGVIF per entry every 3 s, while `wrong_if` counts every packet.
pub fn wrongvif_is_rate_limited<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let (group, marker) = (A::group(18), A::group(19));
    let key = SgKey::sg(A::source(), group);
    set(h, &entry(key, DOWN, &[(UP, 1)]));
    for _ in 0..3 {
        h.send(group, 8);
    }
    let upcalls = sync_on_marker(h, marker);
    assert_eq!(upcalls, [Upcall::WrongVif { vif: UP, source: A::source(), group }], "{name}");
    assert_eq!(h.counters().get(&key).map(|c| c.wrong_if), Some(3), "{name}: wrong_if");
}

/// Packets forwarded to the register VIF come up whole, from the IP header on, TTL unchanged.
pub fn register_vif_hands_packets_up_whole<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let group = A::group(20);
    let key = SgKey::sg(A::source(), group);
    let register = VifId(2);
    let vif = Vif { id: register, kind: VifKind::Register, ttl_threshold: 1 };
    h.plane().add_vif(&vif).unwrap_or_else(|e| panic!("{name}: register VIF: {e}"));
    set(h, &entry(key, UP, &[(register, 1)]));
    h.send(group, 8);
    let up = h.wait_upcall("wholepkt", |u| matches!(u, Upcall::WholePacket { .. }));
    assert_eq!((up.vif(), up.key()), (register, key), "{name}");
    let packet = up.packet().unwrap_or_default();
    assert_eq!(packet.len() as u64, packet_len::<A>(), "{name}: whole packet length");
    let version = if A::ADDR_LEN == 4 { 4 } else { 6 };
    assert_eq!(packet.first().map(|b| b >> 4), Some(version), "{name}: IP version");
    assert_eq!(packet.get(A::TTL_OFFSET), Some(&8), "{name}: TTL of the whole packet");
    assert!(packet.ends_with(PAYLOAD), "{name}: payload");
}

/// Deleting an outgoing VIF stops copies through it without touching the entry; re-creating the
/// VIF under the same id resumes them.
pub fn deleted_vif_is_skipped_until_recreated<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let (group, marker) = (A::group(21), A::group(22));
    let key = SgKey::sg(A::source(), group);
    h.listen(group);
    set(h, &entry(key, UP, &[(DOWN, 1)]));
    h.plane().del_vif(DOWN).unwrap_or_else(|e| panic!("{name}: del VIF: {e}"));
    h.send(group, 8);
    assert_eq!(sync_on_marker(h, marker), [], "{name}: upcalls");
    assert_eq!(h.received(group, 0), 0, "{name}: forwarded through a deleted VIF");
    let down = interface_vif(DOWN, h.downstream());
    h.plane().add_vif(&down).unwrap_or_else(|e| panic!("{name}: re-add VIF: {e}"));
    h.send(group, 8);
    assert_eq!(h.received(group, 1), 1, "{name}: forwarded once the VIF is back");
    assert_eq!(h.counters().get(&key).map(|c| c.packets), Some(2), "{name}: counters");
}

/// In a table with assert on but PIM mode off: WRONGVIF only for arrivals on an outgoing VIF.
pub fn assert_without_pim_mode<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let (quiet, loud, marker) = (A::group(30), A::group(31), A::group(32));
    let (quiet_key, loud_key) = (SgKey::sg(A::source(), quiet), SgKey::sg(A::source(), loud));
    set(h, &entry(quiet_key, DOWN, &[]));
    set(h, &entry(loud_key, DOWN, &[(UP, 1)]));
    h.send(quiet, 8);
    h.send(loud, 8);
    let upcalls = sync_on_marker(h, marker);
    assert_eq!(upcalls, [Upcall::WrongVif { vif: UP, source: A::source(), group: loud }], "{name}");
    let counters = h.counters();
    assert_eq!(counters.get(&quiet_key).map(|c| c.wrong_if), Some(1), "{name}: {counters:?}");
}

/// In WRVIFWHOLE mode a WRVIFWHOLE upcall with the whole packet follows each WRONGVIF.
pub fn wrong_vif_whole_follows_wrong_vif<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let (group, marker) = (A::group(33), A::group(34));
    set(h, &entry(SgKey::<A>::sg(A::source(), group), DOWN, &[]));
    h.send(group, 8);
    let upcalls = sync_on_marker(h, marker);
    let kinds: Vec<_> = upcalls.iter().map(|u| (u.to_string(), u.packet().map(<[u8]>::len))).collect();
    let key = SgKey::<A>::sg(A::source(), group);
    let expected = [
        (format!("upcall wrongvif {key} on vif0"), None),
        (
            format!("upcall wrvifwhole {key} on vif0 ({} octets)", packet_len::<A>()),
            Some(packet_len::<A>() as usize),
        ),
    ];
    assert_eq!(kinds, expected, "{name}");
}

/// A packet from an interface without a VIF: never an upcall; IPv6 counts it as `wrong_if` of a
/// matching entry, IPv4 does not route it at all.
pub fn arrival_without_vif<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    setup(h);
    let name = h.name();
    let (group, marker) = (A::group(23), A::group(24));
    let key = SgKey::sg(A::source(), group);
    set(h, &entry(key, DOWN, &[]));
    h.plane().del_vif(UP).unwrap_or_else(|e| panic!("{name}: del VIF: {e}"));
    h.send(group, 8);
    h.send(marker, 8);
    let up = interface_vif(UP, h.upstream());
    h.plane().add_vif(&up).unwrap_or_else(|e| panic!("{name}: re-add VIF: {e}"));
    assert_eq!(sync_on_marker(h, marker), [], "{name}: upcalls");
    let seen = u64::from(A::ROUTES_FROM_NON_VIF);
    let expected = MfcCounters { packets: seen, bytes: seen * packet_len::<A>(), wrong_if: seen };
    let counters = h.counters();
    assert_eq!(counters.get(&key), Some(&expected), "{name}: {counters:?}");
}

/// An unresolved (S,G) lives 10 s from its first packet: meanwhile its traffic raises no further
/// NOCACHE; the first packet after it expired creates a new one. (Takes 10 s on the kernel.)
pub fn unresolved_entry_expires<A: Family, H: PlaneHarness<A>>(h: &mut H) {
    const PACE: Duration = Duration::from_millis(250);
    setup(h);
    let name = h.name();
    let group = A::group(40);
    h.send(group, 8);
    h.wait_upcall("first nocache", |u| matches!(u, Upcall::NoCache { .. }));
    let created = h.clock();
    for _ in 0..60 {
        h.elapse(PACE);
        h.send(group, 8);
        if let Some(upcall) = h.try_upcall() {
            assert_eq!(upcall, Upcall::NoCache { vif: UP, source: A::source(), group }, "{name}");
            let lifetime = h.clock().saturating_sub(created);
            let bounds = Duration::from_millis(9_900)..Duration::from_millis(11_000);
            assert!(bounds.contains(&lifetime), "{name}: unresolved entry lived {lifetime:?}");
            return;
        }
    }
    panic!("{name}: the unresolved entry never expired");
}
