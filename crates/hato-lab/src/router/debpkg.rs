//! Debian packages that conflict with the installed `frr` (pimd, smcroute) are not installed but
//! unpacked: `apt-get download` and `dpkg -x` into a cache directory, once per machine.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::exec;

/// The cache root: `$HATO_LAB_CACHE`, else `/var/cache/hato-lab`.
pub fn cache_root() -> PathBuf {
    std::env::var_os("HATO_LAB_CACHE").map_or_else(|| PathBuf::from("/var/cache/hato-lab"), PathBuf::from)
}

/// The directory into which `package` is unpacked, downloading and unpacking it on first use.
/// Concurrent callers each unpack into a private directory and the first rename wins.
pub fn unpacked(package: &str) -> Result<PathBuf> {
    if package.is_empty() || !package.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(Error::Invalid(format!("bad package name {package:?}")));
    }
    let root = cache_root();
    let target = root.join(package);
    if target.join(".complete").exists() {
        return Ok(target);
    }
    let staging = root.join(format!(".{package}.{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| Error::io(format!("create {}", staging.display()), e))?;
    let result = download_and_unpack(package, &staging);
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    if fs::rename(&staging, &target).is_err() {
        // Another process finished first.
        let _ = fs::remove_dir_all(&staging);
    }
    if target.join(".complete").exists() {
        Ok(target)
    } else {
        Err(Error::Invalid(format!("unpacking {package} into {} failed", target.display())))
    }
}

fn download_and_unpack(package: &str, staging: &std::path::Path) -> Result<()> {
    let dir = staging.to_string_lossy().into_owned();
    // apt-get writes the .deb into its working directory.
    let script = format!("cd '{dir}' && apt-get download -q {package}");
    let output = exec::run_unchecked(None, &["sh", "-c", &script], Duration::from_secs(120))?;
    if !output.status.success() {
        return Err(Error::Command {
            command: format!("apt-get download {package}"),
            status: output.status.to_string(),
            stderr: output.stderr,
        });
    }
    let deb = fs::read_dir(staging)
        .map_err(|e| Error::io(format!("list {dir}"), e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| Error::Invalid(format!("apt-get download {package} left no .deb")))?;
    exec::run(None, &["dpkg", "-x", &deb.to_string_lossy(), &dir])?;
    fs::remove_file(&deb).map_err(|e| Error::io("remove .deb", e))?;
    fs::write(staging.join(".complete"), package).map_err(|e| Error::io("mark unpacked", e))
}
