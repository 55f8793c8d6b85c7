//! The forwarding-plane conformance suite: the same scenarios against `SimPlane` and against the
//! kernel's multicast forwarding cache through `KernelPlane` in namespaces this test creates
//! (skipped with a message without root), for IPv4 and IPv6.

mod conformance;

use conformance::kernel::{is_root, KernelHarness};
use conformance::scenarios::{
    assert_without_pim_mode, run_all, unresolved_entry_expires, wrong_vif_whole_follows_wrong_vif,
};
use conformance::sim::SimHarness;
use conformance::{Family, Modes};
use hato_core::{V4, V6};

const ASSERT_ONLY: Modes = Modes { assert: true, pim: false, wrong_vif_whole: false };
const WHOLE: Modes = Modes { assert: true, pim: true, wrong_vif_whole: true };

fn sim<A: Family>() {
    run_all(&mut SimHarness::<A>::new(Modes::PIM));
    assert_without_pim_mode(&mut SimHarness::<A>::new(ASSERT_ONLY));
    wrong_vif_whole_follows_wrong_vif(&mut SimHarness::<A>::new(WHOLE));
}

fn kernel<A: Family>() {
    if !is_root() {
        eprintln!("SKIPPED: namespace tests need root");
        return;
    }
    run_all(&mut KernelHarness::<A>::new(Modes::PIM));
    assert_without_pim_mode(&mut KernelHarness::<A>::new(ASSERT_ONLY));
    wrong_vif_whole_follows_wrong_vif(&mut KernelHarness::<A>::new(WHOLE));
}

#[test]
fn sim_plane_ipv4() {
    sim::<V4>();
}

#[test]
fn sim_plane_ipv6() {
    sim::<V6>();
}

#[test]
fn kernel_plane_ipv4() {
    kernel::<V4>();
}

#[test]
fn kernel_plane_ipv6() {
    kernel::<V6>();
}

#[test]
fn sim_plane_unresolved_expiry() {
    unresolved_entry_expires(&mut SimHarness::<V4>::new(Modes::PIM));
    unresolved_entry_expires(&mut SimHarness::<V6>::new(Modes::PIM));
}

#[test]
fn kernel_plane_unresolved_expiry_ipv4() {
    if is_root() {
        unresolved_entry_expires(&mut KernelHarness::<V4>::new(Modes::PIM));
    }
}

#[test]
fn kernel_plane_unresolved_expiry_ipv6() {
    if is_root() {
        unresolved_entry_expires(&mut KernelHarness::<V6>::new(Modes::PIM));
    }
}
