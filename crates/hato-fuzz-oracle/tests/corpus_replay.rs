//! Replays the committed cargo-fuzz corpus (`fuzz/corpus/<target>/`) through the same oracles the
//! fuzz targets run, so that the stable toolchain exercises them in CI.

use std::fs;
use std::path::Path;

use hato_fuzz_oracle::Target;

fn replay(target: Target) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target.name());
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "the {} corpus is empty", target.name());
    eprintln!("{}: {} inputs", target.name(), inputs.len());
    for path in inputs {
        let data = fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        if let Err(panic) = std::panic::catch_unwind(|| target.check(&data)) {
            std::panic::resume_unwind(Box::new(format!(
                "{} fails the {} oracle: {:?}",
                path.display(),
                target.name(),
                panic.downcast_ref::<String>().map(String::as_str).or(panic.downcast_ref::<&str>().copied())
            )));
        }
    }
}

#[test]
fn every_corpus_passes_its_oracle() {
    for target in Target::ALL {
        replay(target);
    }
}
