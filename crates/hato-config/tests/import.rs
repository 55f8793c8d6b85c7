//! Golden tests of the importers: each source under `golden/` imports to the commented TOML
//! next to it (`<name>.expected.toml`), and that TOML loads back to the same configuration.
//! Set `HATO_BLESS=1` to rewrite the expected files after a deliberate change.

use std::path::PathBuf;

use hato_config::{import_mrouted, import_pim6sd, import_pimd, load, Imported};

fn golden(name: &str, import: fn(&str) -> Imported) -> Imported {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let source = std::fs::read_to_string(dir.join(name)).expect("golden source");
    let imported = import(&source);
    let rendered = imported.to_toml(name);
    let expected_path = dir.join(format!("{name}.expected.toml"));
    if std::env::var_os("HATO_BLESS").is_some() {
        std::fs::write(&expected_path, &rendered).expect("write expected");
    }
    let expected = std::fs::read_to_string(&expected_path).expect("expected output");
    assert_eq!(rendered, expected, "{name} imports differently from {}", expected_path.display());
    let reloaded = load(&format!("{name}.expected.toml"), &expected)
        .unwrap_or_else(|errors| panic!("the import of {name} does not validate:\n{errors}"));
    assert_eq!(reloaded, imported.config, "{name}: the rendered TOML loads to another configuration");
    imported
}

fn warned(imported: &Imported, line: usize, needle: &str) -> bool {
    imported.warnings.iter().any(|warning| warning.line == line && warning.message.contains(needle))
}

#[test]
fn seed000_pim6sd_example() {
    let imported = golden("seed000-pim6sd.conf", import_pim6sd);
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let config = &imported.config;
    assert!(!config.global.ipv4 && config.global.ipv6);
    assert_eq!(config.global.log_level, hato_config::LogLevel::Trace);
    let names: Vec<_> = config.interface.iter().map(|i| i.key()).collect();
    assert_eq!(names, ["eth1", "eth2"]);
    assert!(config.interface.iter().all(|i| i.gmp.mld_version == Some(2)));
}

#[test]
fn seed003_mrouted_grammar() {
    let imported = golden("seed003-mrouted.conf", import_mrouted);
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let config = &imported.config;
    assert!(config.dvmrp.enabled && !config.pim.enabled);
    assert_eq!(config.dvmrp.cache_lifetime, 600);
    assert_eq!(config.dvmrp.boundary.len(), 2);
    assert_eq!(config.interface.len(), 3);
    assert_eq!(config.interface[1].enabled, Some(false));
    assert_eq!(config.interface[2].ttl_threshold, Some(16));
    assert_eq!(config.tunnel.len(), 2);
    assert_eq!(config.tunnel[1].threshold, 16);
}

#[test]
fn realistic_mrouted() {
    let imported = golden("mrouted.conf", import_mrouted);
    assert!(!imported.config.dvmrp.pruning);
    assert!(warned(&imported, 15, "noflood"));
    assert!(warned(&imported, 19, "source-routed"));
    assert_eq!(imported.warnings.len(), 2, "{:?}", imported.warnings);
    let eth1 = &imported.config.interface[1];
    assert_eq!(eth1.boundaries.len(), 2);
    assert_eq!(eth1.rate_limit_kbps, Some(2048));
}

#[test]
fn realistic_pimd() {
    let imported = golden("pimd.conf", import_pimd);
    for (line, needle) in
        [(2, "default-route-distance"), (3, "default-route-metric"), (7, "igmp-querier-timeout")]
    {
        assert!(
            warned(&imported, line, needle),
            "no warning {needle:?} on line {line}: {:?}",
            imported.warnings
        );
    }
    assert!(warned(&imported, 12, "distance"));
    assert!(warned(&imported, 12, "metric"));
    assert_eq!(imported.warnings.len(), 5, "{:?}", imported.warnings);
    let pim = &imported.config.pim;
    assert_eq!(pim.c_rp_adv_period, 30);
    assert_eq!(pim.candidate_rp[0].groups.len(), 2);
    assert_eq!(pim.static_rp.len(), 2);
    assert_eq!(pim.static_rp[1].groups, ["224.0.0.0/4".parse().unwrap()]);
    assert_eq!(pim.spt[0].threshold_kbps, 512);
    assert_eq!(imported.config.gmp.query_interval, 60);
}

#[test]
fn realistic_pim6sd() {
    let imported = golden("pim6sd.conf", import_pim6sd);
    for (line, needle) in [
        (2, "log"),
        (3, "reverselookup"),
        (5, "default_source_preference"),
        (6, "default_source_metric"),
        (9, "granularity"),
        (17, "preference"),
        (28, "switch_register_threshold"),
    ] {
        assert!(
            warned(&imported, line, needle),
            "no warning {needle:?} on line {line}: {:?}",
            imported.warnings
        );
    }
    assert_eq!(imported.warnings.len(), 7, "{:?}", imported.warnings);
    let config = &imported.config;
    assert_eq!(config.pim.hello_holdtime, Some(105));
    assert_eq!(config.pim.c_rp_adv_period, 45);
    assert_eq!(config.pim.candidate_rp[0].groups.len(), 2);
    assert_eq!(config.pim.candidate_bsr[0].hash_mask_length, Some(126));
    assert_eq!(config.interface[0].gmp.query_response_interval_ms, Some(5000));
    assert_eq!(config.interface[2].gmp.enabled, Some(false));
    assert_eq!(config.pim.spt[0].threshold_kbps, 50);
}

#[test]
fn unknown_statements_are_warnings_with_lines() {
    let imported = import_pimd("phyint eth0\nfrobnicate 3\n");
    assert!(warned(&imported, 2, "frobnicate"), "{:?}", imported.warnings);
    let imported = import_mrouted("phyint eth0\n\nfrobnicate on\n");
    // mrouted statements run to the next keyword: the unknown word is an option of phyint.
    assert!(warned(&imported, 3, "frobnicate"), "{:?}", imported.warnings);
    let imported = import_pim6sd("phyint eth0;\nfrobnicate;\ngroup_prefix ff0e::/16;\n");
    assert!(warned(&imported, 2, "frobnicate"), "{:?}", imported.warnings);
    assert!(warned(&imported, 3, "no cand_rp"), "{:?}", imported.warnings);
}

#[test]
fn repeated_switch_data_threshold_keeps_the_last() {
    let twice =
        import_pim6sd("switch_data_threshold rate 50000 interval 20;\nswitch_data_threshold rate 80000;\n");
    assert_eq!(twice.config.pim.spt.len(), 1, "{:?}", twice.config.pim.spt);
    assert_eq!(twice.config.pim.spt[0].threshold_kbps, 80);
    assert_eq!(twice.config.pim.spt_check_interval, 20);
    let then_zero = import_pimd("switch_data_threshold rate 50000\nswitch_data_threshold rate 0\n");
    assert!(then_zero.config.pim.spt.is_empty(), "{:?}", then_zero.config.pim.spt);
    assert_eq!(then_zero.config.pim.spt_switch, hato_config::model::SptSwitch::Immediate);
}
