//! `hatod --check-config` and `hatod import`: exit codes and messages, no namespaces needed.

use std::process::Command;

fn hatod(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hatod")).args(args).output().unwrap()
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hatod-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_config_exit_codes() {
    let good = temp_file(
        "good.toml",
        "[[static-flow]]\nsource = \"198.18.0.1\"\ngroup = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n",
    );
    let output = hatod(&["--check-config", "-f", good.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout)
        .contains("valid (0 interfaces, 1 static flows, 0 static mroutes)"));

    let bad = temp_file("bad.toml", "[pim]\nhello-period = 2\n");
    let output = hatod(&["--check-config", "-f", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml:2:16: pim.hello-period = 2: must be 5..=3600"), "{stderr}");

    let output = hatod(&["--check-config", "-f", "/nonexistent/hato.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let output = hatod(&["--check-config"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn import_prints_toml_and_warnings() {
    let conf = temp_file("mrouted.conf", "phyint eth1 disable\nfrobnicate 3\n");
    let output = hatod(&["import", "mrouted", conf.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let toml = String::from_utf8(output.stdout).unwrap();
    let config: hato_config::Config = hato_config::load("imported", &toml).unwrap();
    assert!(config.interface.iter().any(|i| i.name.as_deref() == Some("eth1") && !i.is_enabled()), "{toml}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("line 2"), "{stderr}");
}
