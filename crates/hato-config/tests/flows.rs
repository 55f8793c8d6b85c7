//! `[[mroute]]` and `[[static-flow]]`: loading, located errors and the reload diff.

use hato_config::{load, ConfigDiff};

const FLOWS: &str = r#"
[[mroute]]
source = "198.18.5.0/24"
via = "198.18.1.2"
distance = 5

[[mroute]]
source = "fd00:5::/64"
interface = "eth1"

[[static-flow]]
source = "198.18.0.2"
group = "239.1.1.1"
input = "eth0"
outputs = ["eth1"]

[[static-flow]]
group = "ff3e::1"
input = "eth0"
outputs = ["eth1", "eth2"]
"#;

#[test]
fn sections_load_with_defaults() {
    let config = load("hato.toml", FLOWS).unwrap();
    assert_eq!(config.mroute.len(), 2);
    assert_eq!(config.mroute[0].distance, 5);
    assert_eq!(config.mroute[1].distance, 1);
    assert_eq!(config.mroute[1].interface.as_deref(), Some("eth1"));
    assert_eq!(config.static_flow[0].key(), "198.18.0.2,239.1.1.1");
    assert_eq!(config.static_flow[1].key(), "*,ff3e::1");
    let back = load("hato.toml", &hato_config::render(&config)).unwrap();
    assert_eq!(back, config);
}

#[test]
fn errors_are_located() {
    let text = "[[static-flow]]\nsource = \"198.18.0.2\"\ngroup = \"198.18.0.9\"\ninput = \"eth0\"\noutputs = [\"eth0\"]\n";
    let errors: Vec<String> = load("f.toml", text).unwrap_err().0.iter().map(ToString::to_string).collect();
    assert!(
        errors.contains(&"f.toml:3:9: static-flow[0].group = 198.18.0.9: not a multicast group".to_string()),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("f.toml:5:12: ") && e.contains("input interface")),
        "{errors:#?}"
    );
    let text = "[[mroute]]\nsource = \"198.18.5.0/24\"\nvia = \"fd00::1\"\n";
    let errors: Vec<String> = load("f.toml", text).unwrap_err().0.iter().map(ToString::to_string).collect();
    assert_eq!(errors, vec!["f.toml:3:7: mroute[0].via = fd00::1: not the family of source".to_string()]);
    let text = "[[mroute]]\nsource = \"198.18.5.0/24\"\n";
    assert!(load("f.toml", text).unwrap_err().to_string().contains("needs `via`"));
    let text = "[[static-flow]]\ngroup = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n\
                [[static-flow]]\ngroup = \"239.1.1.1\"\ninput = \"eth1\"\noutputs = [\"eth2\"]\n";
    assert!(load("f.toml", text).unwrap_err().to_string().contains("duplicate flow (first: static-flow[0])"));
}

#[test]
fn diff_lists_added_and_removed_flows_and_mroutes() {
    let old = load("hato.toml", FLOWS).unwrap();
    let mut new = old.clone();
    let removed = new.static_flow.remove(0);
    let mut added = removed.clone();
    added.group = "239.1.1.2".parse().unwrap();
    new.static_flow.push(added.clone());
    new.mroute[0].distance = 7;
    let diff = ConfigDiff::between(&old, &new);
    assert_eq!(diff.static_flows_added, vec![added]);
    assert_eq!(diff.static_flows_removed, vec![removed]);
    assert_eq!(diff.mroutes_added, vec![new.mroute[0].clone()]);
    assert_eq!(diff.mroutes_removed, vec![old.mroute[0].clone()]);
    assert!(ConfigDiff::between(&old, &old).is_empty());
}
