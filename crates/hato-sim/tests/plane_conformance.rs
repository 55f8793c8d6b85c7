//! The forwarding-plane conformance suite: the same scenarios against `SimPlane` and against the
//! kernel's multicast forwarding cache through `KernelPlane` in namespaces this test creates
//! (skipped with a message without root), for IPv4 and IPv6.

mod conformance;

use conformance::kernel::{is_root, KernelHarness};
use conformance::scenarios::run_all;
use conformance::sim::SimHarness;
use hato_core::{V4, V6};

#[test]
fn sim_plane_ipv4() {
    run_all(&mut SimHarness::<V4>::new());
}

#[test]
fn sim_plane_ipv6() {
    run_all(&mut SimHarness::<V6>::new());
}

#[test]
fn kernel_plane_ipv4() {
    if !is_root() {
        eprintln!("SKIPPED: namespace tests need root");
        return;
    }
    run_all(&mut KernelHarness::<V4>::new());
}

#[test]
fn kernel_plane_ipv6() {
    if !is_root() {
        eprintln!("SKIPPED: namespace tests need root");
        return;
    }
    run_all(&mut KernelHarness::<V6>::new());
}
