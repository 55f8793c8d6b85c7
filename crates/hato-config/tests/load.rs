//! Loading and validation: defaults, located errors with ranges, cross-checks.

use std::path::PathBuf;

use hato_config::{load, render, render_commented, Config, RpSelection};

fn errors(text: &str) -> Vec<String> {
    match load("hato.toml", text) {
        Ok(config) => panic!("expected errors, loaded {config:?}"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

fn assert_error(text: &str, expected: &str) {
    let errors = errors(text);
    assert!(errors.iter().any(|error| error == expected), "no {expected:?} among {errors:#?}");
}

#[test]
fn defaults_follow_the_timer_table() {
    let pim = Config::default().pim;
    assert_eq!(pim.hello_period, 30);
    assert_eq!(pim.effective_hello_holdtime(), 105);
    assert_eq!(pim.assert_timeout, 180);
    assert_eq!(pim.join_prune_period, 60);
    assert_eq!(pim.effective_join_prune_holdtime(), 210);
    assert_eq!(pim.effective_deletion_delay(), 70);
    assert_eq!(pim.data_timeout, 210);
    assert_eq!(pim.register_suppression, 60);
    assert_eq!(pim.probe_time, 5);
    assert_eq!(pim.c_rp_adv_period, 60);
    assert_eq!(pim.effective_rp_holdtime(), 150);
    assert_eq!(pim.bootstrap_period, 60);
    assert_eq!(pim.effective_bootstrap_timeout(), 130);
    assert_eq!(pim.negative_cache_holdtime_for("239.1.1.1".parse().unwrap()), 210);
    assert_eq!(pim.negative_cache_holdtime_for("232.1.1.1".parse().unwrap()), 3600);
    assert_eq!(pim.negative_cache_holdtime_for("ff3e::1234".parse().unwrap()), 3600);
    assert_eq!(pim.rp_selection, RpSelection::Rfc4601);
    let gmp = Config::default().gmp;
    assert_eq!((gmp.igmp_version, gmp.mld_version, gmp.query_interval, gmp.robustness), (3, 2, 125, 2));
}

#[test]
fn empty_file_is_the_default_and_defaults_render_back() {
    assert_eq!(load("hato.toml", "").unwrap(), Config::default());
    assert_eq!(load("hato.toml", &render(&Config::default())).unwrap(), Config::default());
    assert_eq!(load("hato.toml", &render_commented(&Config::default())).unwrap(), Config::default());
}

#[test]
fn seed002_vendor_settings_in_native_form() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/seed002-pim.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let config = load("seed002-pim.toml", &text).unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(config.pim.rp_selection, RpSelection::Rfc2362);
    assert_eq!(config.rpf.interval, 30);
    assert_eq!((config.rpf.backoff.initial_ms, config.rpf.backoff.max_ms), (200, 10000));
    let edge = config.effective_interface(&config.interface[1]);
    assert!(!edge.pim.accept_bootstrap);
    assert_eq!(edge.pim.hello_holdtime, 105);
    assert!(config.effective_interface(&config.interface[0]).pim.accept_bootstrap);
    assert_eq!(config.pim.candidate_rp[0].priority, 192);
}

#[test]
fn range_errors_name_file_line_column_and_range() {
    assert_error(
        "[global]\nlog-level = \"debug\"\n\n[pim]\nhello-period = 2\n",
        "hato.toml:5:16: pim.hello-period = 2: must be 5..=3600 seconds",
    );
    assert_error(
        "[pim]\ndata-timeout = 30\n",
        "hato.toml:2:16: pim.data-timeout = 30: must be 0 (forever) or 60..=43200 seconds",
    );
    assert_error("[gmp]\nrobustness = 9\n", "hato.toml:2:14: gmp.robustness = 9: must be 1..=7");
    assert_error(
        "[[interface]]\nname = \"eth0\"\n[interface.pim]\njoin-prune-period = 4000\n",
        "hato.toml:4:21: interface[0].pim.join-prune-period = 4000: must be 30..=3600 seconds",
    );
    assert_error(
        "[rpf]\nbackoff = { initial-ms = 0 }\n",
        "hato.toml:2:26: rpf.backoff.initial-ms = 0: must be 1..=60000 milliseconds",
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let errors = errors("[pim]\nhello-period = 1\nprobe-time = 61\n[dvmrp]\ncache-lifetime = 10\n");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[2].starts_with("hato.toml:5:18: dvmrp.cache-lifetime = 10"), "{errors:#?}");
}

#[test]
fn unknown_keys_and_wrong_types_are_located() {
    let found = errors("[pim]\nhelo-period = 30\n");
    assert!(found[0].starts_with("hato.toml:2:1: unknown field `helo-period`"), "{found:#?}");
    let found = errors("[pim]\nhello-period = \"thirty\"\n");
    assert!(found[0].starts_with("hato.toml:2:16: "), "{found:#?}");
    let found = errors("[[interface]]\nname = \"eth0\"\nmtu = 1500\n");
    assert!(found[0].starts_with("hato.toml:3:1: unknown field `mtu`"), "{found:#?}");
    let found = errors("[pim\n");
    assert!(found[0].starts_with("hato.toml:1:"), "{found:#?}");
}

#[test]
fn duplicate_interfaces() {
    assert_error(
        "[[interface]]\nname = \"eth0\"\n\n[[interface]]\nname = \"eth0\"\n",
        "hato.toml:5:8: interface[1].name = \"eth0\": duplicate interface (first: interface[0])",
    );
    assert_error(
        "[[interface]]\naddress = \"198.18.0.1\"\n[[interface]]\naddress = \"198.18.0.1\"\n",
        "hato.toml:4:11: interface[1].address = \"198.18.0.1\": duplicate interface (first: interface[0])",
    );
    assert_error(
        "[[interface]]\nenabled = true\n",
        "hato.toml:1:1: interface[0]: needs a name or an address",
    );
}

#[test]
fn static_rp_inside_the_ssm_range() {
    let text =
        "[pim]\n[[pim.static-rp]]\naddress = \"198.18.0.1\"\ngroups = [\"239.0.0.0/8\", \"232.1.0.0/16\"]\n";
    assert_error(
        text,
        "hato.toml:4:26: pim.static-rp[0].groups[1] = 232.1.0.0/16: lies inside the SSM range 232.0.0.0/8, where no RP is used (RFC 4607 §2)",
    );
    // A range wider than the SSM range is normal.
    let wide = "[[pim.static-rp]]\naddress = \"198.18.0.1\"\ngroups = [\"224.0.0.0/4\"]\n";
    assert!(load("hato.toml", wide).is_ok());
    // With the SSM range moved, the same RP is fine.
    let moved = format!("[pim]\nssm-ranges = [\"233.0.0.0/8\"]\n{}", &text[6..]);
    assert!(load("hato.toml", &moved).is_ok(), "{:?}", load("hato.toml", &moved));
}

#[test]
fn families_and_multicast_ranges() {
    assert_error(
        "[[pim.static-rp]]\naddress = \"fd00::1\"\ngroups = [\"239.1.0.0/16\"]\n",
        "hato.toml:3:11: pim.static-rp[0].groups[0] = 239.1.0.0/16: not of the RP address's family",
    );
    assert_error(
        "[[pim.static-rp]]\naddress = \"239.1.1.1\"\ngroups = [\"239.1.0.0/16\"]\n",
        "hato.toml:2:11: pim.static-rp[0].address = 239.1.1.1: an RP address must be unicast",
    );
    assert_error(
        "[pim]\nssm-ranges = [\"198.18.0.0/15\"]\n",
        "hato.toml:2:15: pim.ssm-ranges[0] = 198.18.0.0/15: not a multicast group range (224.0.0.0/4, ff00::/8)",
    );
    assert_error(
        "[dvmrp]\nenabled = true\n[[tunnel]]\nlocal = \"fd00::1\"\nremote = \"fd00::2\"\n",
        "hato.toml:4:9: tunnel[0].local = fd00::1: DVMRP tunnels are IPv4 only",
    );
    assert_error(
        "[[pim.candidate-rp]]\naddress = \"198.18.0.1\"\ngroups = [\"ff0e::/16\"]\n",
        "hato.toml:3:11: pim.candidate-rp[0].groups[0] = ff0e::/16: not of the candidate's family",
    );
    assert_error(
        "[[pim.candidate-bsr]]\naddress = \"198.18.0.1\"\nhash-mask-length = 64\n",
        "hato.toml:3:20: pim.candidate-bsr[0].hash-mask-length = 64: must be 0..=32 bits",
    );
}

#[test]
fn other_cross_checks() {
    assert_error(
        "[rpf.backoff]\ninitial-ms = 2000\nmax-ms = 1000\n",
        "hato.toml:3:10: rpf.backoff.max-ms = 1000: must not be below initial-ms (2000)",
    );
    assert_error(
        "[gmp]\nquery-interval = 10\nquery-response-interval-ms = 10000\n",
        "hato.toml:3:30: gmp.query-response-interval-ms = 10000: must be less than query-interval (10 s)",
    );
    assert_error(
        "[[interface]]\nname = \"eth0\"\nboundaries = [\"nowhere\"]\n",
        "hato.toml:3:15: interface[0].boundaries[0] = nowhere: no [[dvmrp.boundary]] has this name",
    );
    assert_error(
        "[[pim.spt]]\ngroups = \"239.0.0.0/8\"\nswitch = \"threshold\"\n",
        "hato.toml:1:1: pim.spt[0].threshold-kbps = 0: must be 1..=100000000 kbps",
    );
    assert_error(
        "[[tunnel]]\nlocal = \"198.18.0.1\"\nremote = \"198.19.0.1\"\n",
        "hato.toml:3:10: tunnel[0].remote = 198.19.0.1: tunnels carry DVMRP: set dvmrp.enabled = true",
    );
    assert_error(
        "[global]\nipv4 = false\nipv6 = false\n",
        "hato.toml:3:8: global.ipv6 = false: ipv4 and ipv6 are both off: nothing to route",
    );
}

#[test]
fn spt_policy_takes_the_longest_matching_rule() {
    let text = "[pim]\nspt-switch = \"never\"\n\
                [[pim.spt]]\ngroups = \"239.0.0.0/8\"\nswitch = \"threshold\"\nthreshold-kbps = 100\n\
                [[pim.spt]]\ngroups = \"239.1.0.0/16\"\nswitch = \"immediate\"\n";
    let pim = load("hato.toml", text).unwrap().pim;
    assert_eq!(pim.spt_policy_for("239.1.2.3".parse().unwrap()), (hato_config::SptSwitch::Immediate, 0));
    assert_eq!(pim.spt_policy_for("239.2.2.3".parse().unwrap()), (hato_config::SptSwitch::Threshold, 100));
    assert_eq!(pim.spt_policy_for("238.2.2.3".parse().unwrap()), (hato_config::SptSwitch::Never, 0));
}

#[test]
fn one_candidate_per_family() {
    assert_error(
        "[[pim.candidate-bsr]]\ninterface = \"eth0\"\n[[pim.candidate-bsr]]\ninterface = \"eth1\"\n",
        "hato.toml:3:1: pim.candidate-bsr[1] = ipv4: a second candidate BSR of this family (first: candidate-bsr[0])",
    );
    let both = "[[pim.candidate-rp]]\ninterface = \"eth0\"\n[[pim.candidate-rp]]\ninterface = \"eth0\"\nfamily = \"ipv6\"\n";
    assert!(load("hato.toml", both).is_ok());
}

#[test]
fn a_candidate_bsr_per_scope_zone() {
    let text = "[[pim.candidate-bsr]]\naddress = \"198.18.0.1\"\n\n\
                [[pim.candidate-bsr]]\naddress = \"198.18.0.1\"\npriority = 9\nscope-zone = \"239.1.0.0/16\"\n\n\
                [[interface]]\nname = \"eth1\"\nboundaries = [\"239.1.0.0/16\"]\n";
    let config = load("hato.toml", text).unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(config.pim.candidate_bsr[1].scope_zone, Some("239.1.0.0/16".parse().unwrap()));
    let errors = errors(
        "[[pim.candidate-bsr]]\naddress = \"198.18.0.1\"\nscope-zone = \"239.1.0.0/16\"\n\n\
         [[pim.candidate-bsr]]\naddress = \"198.18.0.2\"\nscope-zone = \"239.1.0.0/16\"\n\n\
         [[pim.candidate-bsr]]\naddress = \"198.18.0.3\"\nscope-zone = \"ff0e::/16\"\n",
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("a second candidate BSR of this family for scope zone 239.1.0.0/16")),
        "{errors:#?}"
    );
    assert!(errors.iter().any(|e| e.contains("not of the candidate's family")), "{errors:#?}");
}
