//! The kernel scale benchmark (`hato-bench`) in small: 2,000 (S,G) joined by PIM neighbours on two
//! interfaces through hatod in a namespace lab must all reach the kernel MFC and stay there while
//! Hellos and Joins are refreshed. Keeps the benchmark's lab, injectors and dump working; the
//! 100,000-entry run is `target/release/hato-bench`. Requires root.

use std::time::Duration;

use hato_bench::{run, Options, Workload};
use hato_lab::RouterKind;

#[test]
fn every_joined_sg_reaches_the_kernel_mfc() {
    assert!(nix::unistd::geteuid().is_root(), "namespace tests need root (CI runs as root)");
    let workload = Workload::with_entries(2_000, 2).expect("workload");
    assert_eq!((workload.groups, workload.sources), (20, 100));
    let options = Options {
        hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()),
        install_timeout: Duration::from_secs(30),
        steady: Duration::from_secs(2),
        settle: Duration::from_millis(200),
    };
    let m = run(RouterKind::Hatod, workload, &options).expect("benchmark run");
    assert_eq!(m.join_messages, 20, "one Join/Prune message per group of 100 sources");
    assert_eq!(m.installed, 2_000, "installed after {:.1} s", m.install_secs_lower);
    assert!(m.install_secs.is_some());
    assert_eq!(m.steady_installed, 2_000);
    assert_eq!(m.pim_socket_drops, 0);
    assert!(m.loaded_rss > 0 && m.cpu_secs >= 0.0);
}
