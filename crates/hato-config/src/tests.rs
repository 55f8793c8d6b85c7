//! Properties over arbitrary configurations and inputs.

use proptest::prelude::*;

use crate::strategies::config;
use crate::{import_mrouted, import_pim6sd, import_pimd, load, render, render_commented, ConfigDiff};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The printed configuration reads back to itself, valid or not.
    #[test]
    fn render_round_trips(config in config()) {
        let back: crate::Config = toml::from_str(&render(&config)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &config);
        let back: crate::Config = toml::from_str(&render_commented(&config)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, config);
    }

    /// `load` accepts exactly the configurations `validate` accepts, and locates every error.
    #[test]
    fn load_agrees_with_validate(config in config()) {
        let problems = config.validate();
        match load("hato.toml", &render(&config)) {
            Ok(loaded) => {
                prop_assert!(problems.is_empty());
                prop_assert_eq!(loaded, config);
            }
            Err(errors) => {
                prop_assert_eq!(errors.0.len(), problems.len());
                for (error, problem) in errors.0.iter().zip(&problems) {
                    prop_assert!(error.line_col.is_some(), "{} not located", problem);
                    prop_assert!(error.to_string().ends_with(&problem.to_string()));
                }
            }
        }
    }

    #[test]
    fn diff_of_a_config_with_itself_is_empty(config in config()) {
        prop_assert!(ConfigDiff::between(&config, &config).is_empty());
    }

    #[test]
    fn diff_sees_every_interface_change(old in config(), new in config()) {
        let diff = ConfigDiff::between(&old, &new);
        if diff.is_empty() {
            for (a, b) in old.interface.iter().zip(&new.interface) {
                prop_assert_eq!(old.effective_interface(a), new.effective_interface(b));
            }
        }
    }

    #[test]
    fn load_never_panics(text in "\\PC{0,200}") {
        let _ = load("hato.toml", &text);
    }

    #[test]
    fn importers_never_panic(text in "\\PC{0,300}") {
        let _ = import_mrouted(&text);
        let _ = import_pimd(&text);
        let _ = import_pim6sd(&text);
    }

    /// Keyword soup reaches deeper into the importers than random text.
    #[test]
    fn importers_never_panic_on_keywords(words in proptest::collection::vec(proptest::sample::select(vec![
        "phyint", "tunnel", "name", "boundary", "altnet", "masklen", "metric", "threshold", "rate_limit",
        "rp-address", "rp-candidate", "bsr-candidate", "group-prefix", "spt-threshold", "rate", "packets",
        "interval", "priority", "time", "static_rp", "cand_rp", "cand_bootstrap_router", "group_prefix",
        "hello_period", "mld_version", "any", ";", "eth0", "198.18.0.1", "239.0.0.0/8", "ff0e::/16",
        "fd00::1", "4294967296", "-1", "0", "3.5", "1e308", "disable", "log", "all",
    ]), 0..40)) {
        let text = words.join(" ");
        let _ = import_mrouted(&text);
        let _ = import_pimd(&text);
        let _ = import_pim6sd(&text);
    }
}

#[test]
fn global_user_is_a_name_or_nothing() {
    let config = load("hato.toml", "[global]\nuser = \"hato\"\n").unwrap();
    assert_eq!(config.global.user.as_deref(), Some("hato"));
    assert_eq!(load("hato.toml", "").unwrap().global.user, None);
    let errors = load("hato.toml", "[global]\nuser = \"\"\n").unwrap_err().to_string();
    assert!(errors.contains("global.user") && errors.contains("must be a user name or id"), "{errors}");
}
