//! The typed diff applied on reload.

use hato_config::{load, ConfigDiff, InterfaceChange};

fn config(text: &str) -> hato_config::Config {
    load("hato.toml", text).unwrap_or_else(|errors| panic!("{errors}"))
}

const BASE: &str = r#"
[pim]
hello-period = 30

[[pim.static-rp]]
address = "198.18.0.1"
groups = ["239.0.0.0/8"]

[[interface]]
name = "eth0"

[[interface]]
name = "eth1"
[interface.pim]
dr-priority = 5

[[interface]]
name = "eth2"
"#;

#[test]
fn identical_configs_have_an_empty_diff() {
    assert!(ConfigDiff::between(&config(BASE), &config(BASE)).is_empty());
}

#[test]
fn interfaces_added_removed_and_changed_by_field() {
    let new =
        BASE.replace("name = \"eth2\"", "name = \"eth3\"").replace("dr-priority = 5", "dr-priority = 7");
    let diff = ConfigDiff::between(&config(BASE), &config(&new));
    assert_eq!(diff.interfaces_added, ["eth3"]);
    assert_eq!(diff.interfaces_removed, ["eth2"]);
    assert_eq!(
        diff.interfaces_changed,
        [InterfaceChange { key: "eth1".into(), fields: vec!["pim.dr-priority".into()] }]
    );
    assert!(diff.pim.is_empty() && diff.static_rps_added.is_empty());
}

#[test]
fn a_global_default_changes_only_the_interfaces_that_inherit_it() {
    let new = BASE.replace("hello-period = 30", "hello-period = 10") + "[interface.pim]\nhello-period = 30\n"; // eth2 pins the old value
    let diff = ConfigDiff::between(&config(BASE), &config(&new));
    let changed: Vec<&str> = diff.interfaces_changed.iter().map(|change| change.key.as_str()).collect();
    assert_eq!(changed, ["eth0", "eth1"]);
    assert_eq!(diff.interfaces_changed[0].fields, ["pim.hello-holdtime", "pim.hello-period"]);
    assert_eq!(diff.auto_interface_fields, ["pim.hello-holdtime", "pim.hello-period"]);
    // A per-interface default is not a protocol-wide change.
    assert!(diff.pim.is_empty(), "{:?}", diff.pim);
}

#[test]
fn rps_ssm_ranges_and_protocol_settings() {
    let new = BASE.replace("198.18.0.1", "198.18.0.2").replace(
        "[pim]\nhello-period = 30",
        "[pim]\nhello-period = 30\nrp-selection = \"rfc2362\"\nssm-ranges = [\"232.0.0.0/8\", \"233.0.0.0/8\"]",
    );
    let diff = ConfigDiff::between(&config(BASE), &config(&new));
    assert_eq!(diff.static_rps_added[0].address.to_string(), "198.18.0.2");
    assert_eq!(diff.static_rps_removed[0].address.to_string(), "198.18.0.1");
    assert_eq!(diff.pim, ["rp-selection"]);
    assert_eq!(diff.ssm_ranges_added, ["233.0.0.0/8".parse().unwrap()]);
    assert_eq!(diff.ssm_ranges_removed, ["ff30::/12".parse().unwrap()]);
    assert!(diff.interfaces_changed.is_empty());
}

#[test]
fn global_rpf_tunnels_and_dvmrp() {
    let old =
        config("[dvmrp]\nenabled = true\n[[tunnel]]\nlocal = \"198.18.0.1\"\nremote = \"198.19.0.1\"\n");
    let new = config(
        "[global]\nlog-level = \"debug\"\n[rpf]\ninterval = 0\n[dvmrp]\nenabled = true\npruning = false\n\
         [[dvmrp.boundary]]\nname = \"local\"\ngroups = \"239.255.0.0/16\"\n\
         [[tunnel]]\nlocal = \"198.18.0.1\"\nremote = \"198.19.0.1\"\nthreshold = 32\n\
         [[tunnel]]\nlocal = \"198.18.0.1\"\nremote = \"198.19.0.2\"\n",
    );
    let diff = ConfigDiff::between(&old, &new);
    assert_eq!(diff.global, ["log-level"]);
    assert_eq!(diff.rpf, ["interval"]);
    assert_eq!(diff.dvmrp, ["pruning"]);
    assert_eq!(diff.boundaries_added.len(), 1);
    assert_eq!(diff.tunnels_added.len(), 1);
    assert_eq!(
        diff.tunnels_changed,
        [InterfaceChange { key: "198.18.0.1->198.19.0.1".into(), fields: vec!["threshold".into()] }]
    );
    let back = ConfigDiff::between(&new, &old);
    assert_eq!(back.tunnels_removed.len(), 1);
    assert_eq!(back.boundaries_removed.len(), 1);
}

#[test]
fn candidates() {
    let new = format!("{BASE}\n[[pim.candidate-bsr]]\ninterface = \"eth0\"\n");
    assert!(ConfigDiff::between(&config(BASE), &config(&new)).candidates_changed);
}
