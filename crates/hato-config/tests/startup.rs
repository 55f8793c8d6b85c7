//! The embedded default and the two-VIF start-up rule.

use hato_config::{check_startup, default_config, load, SystemInterface, UsableVif};

fn system(name: &str, multicast: bool, loopback: bool, up: bool) -> SystemInterface {
    SystemInterface { name: name.into(), multicast, loopback, up, addresses: Vec::new() }
}

fn lab() -> Vec<SystemInterface> {
    vec![
        system("lo", true, true, true),
        system("eth0", true, false, true),
        system("eth1", true, false, true),
        system("wg0", false, false, true),
    ]
}

#[test]
fn default_runs_every_multicast_interface_but_loopback() {
    let config = default_config(&lab());
    let names: Vec<String> = config.interface.iter().map(|i| i.key()).collect();
    assert_eq!(names, ["eth0", "eth1"]);
    assert!(!config.global.auto_interfaces);
    let eth0 = config.effective_interface(&config.interface[0]);
    assert_eq!((eth0.gmp.igmp_version, eth0.gmp.mld_version), (3, 2));
    assert!(eth0.pim.enabled);
    assert_eq!(config.pim.mode, hato_config::PimMode::Sparse);
    assert!(config.pim.ssm_ranges.contains(&"232.0.0.0/8".parse().unwrap()));
    assert!(config.validate().is_empty());
    let plan = check_startup(&config, &lab()).unwrap();
    assert_eq!(plan.vifs, [UsableVif::Interface("eth0".into()), UsableVif::Interface("eth1".into())]);
}

#[test]
fn fewer_than_two_interfaces_is_refused_with_reasons() {
    let interfaces = vec![
        system("lo", true, true, true),
        system("eth0", true, false, true),
        system("eth1", true, false, false),
    ];
    let error = check_startup(&default_config(&interfaces), &interfaces).unwrap_err();
    assert_eq!(error.usable, [UsableVif::Interface("eth0".into())]);
    assert_eq!(
        error.to_string(),
        "hato needs at least two usable interfaces or tunnels, found 1 (eth0); not used: \
         lo: not configured (auto-interfaces = false); eth1: down"
    );
}

#[test]
fn auto_interfaces_skip_loopback_and_non_multicast() {
    let config = load("hato.toml", "").unwrap();
    let plan = check_startup(&config, &lab()).unwrap();
    assert_eq!(plan.vifs.len(), 2);
    assert!(plan.warnings.iter().any(|w| w == "interface lo not used: loopback"), "{:?}", plan.warnings);
    assert!(plan.warnings.iter().any(|w| w == "interface wg0 not used: not multicast-capable"));
}

#[test]
fn disabled_missing_and_tunnels() {
    let text = "[global]\nauto-interfaces = false\n\
                [[interface]]\nname = \"eth0\"\nenabled = false\n\
                [[interface]]\nname = \"eth1\"\n\
                [[interface]]\nname = \"eth7\"\n";
    let config = load("hato.toml", text).unwrap();
    let error = check_startup(&config, &lab()).unwrap_err();
    assert!(error.rejected.contains(&("eth0".into(), "disabled in the configuration".into())));
    assert!(error.rejected.contains(&("eth7".into(), "no such interface on this system".into())));
    // A tunnel is a VIF too.
    let with_tunnel = format!(
        "{text}[dvmrp]\nenabled = true\n[[tunnel]]\nlocal = \"198.18.0.1\"\nremote = \"198.19.0.1\"\n"
    );
    let plan = check_startup(&load("hato.toml", &with_tunnel).unwrap(), &lab()).unwrap();
    assert_eq!(plan.vifs.len(), 2);
    // Only tunnels: allowed, with mrouted's warning.
    let tunnels = "[global]\nauto-interfaces = false\n[dvmrp]\nenabled = true\n\
                   [[tunnel]]\nlocal = \"198.18.0.1\"\nremote = \"198.19.0.1\"\n\
                   [[tunnel]]\nlocal = \"198.18.0.1\"\nremote = \"198.19.0.2\"\n";
    let plan = check_startup(&load("hato.toml", tunnels).unwrap(), &lab()).unwrap();
    assert!(plan.warnings.iter().any(|w| w.starts_with("every VIF is a tunnel")));
}

#[test]
fn interfaces_match_by_address() {
    let mut interfaces = lab();
    interfaces[1].addresses.push("198.18.0.1".parse().unwrap());
    let config = load("hato.toml", "[[interface]]\naddress = \"198.18.0.1\"\nenabled = false\n").unwrap();
    let error = check_startup(&config, &interfaces).unwrap_err();
    assert!(error.rejected.contains(&("eth0".into(), "disabled in the configuration".into())));
    assert!(config.effective_for("eth0", &interfaces[1].addresses).is_some_and(|e| !e.enabled));
    assert!(config.effective_for("eth1", &[]).is_some_and(|e| e.enabled && e.key == "eth1"));
}
