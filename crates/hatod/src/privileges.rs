//! Dropping privileges once every socket is open: hatod keeps CAP_NET_ADMIN (the multicast
//! routing tables, VIFs and forwarding cache, joining groups on behalf of interfaces) and
//! CAP_NET_RAW (the raw protocol sockets), and nothing else, in each of the bounding, permitted,
//! effective and inheritable sets; the ambient set is emptied. With `--user`, it also becomes that
//! user (and its primary group, with no supplementary groups) and keeps the two capabilities
//! across the switch with `PR_SET_KEEPCAPS`.
//!
//! Capabilities are per thread (capset(2)): this runs while hatod has its only thread. Under
//! systemd's `CapabilityBoundingSet=` the process may lack CAP_SETPCAP; the bounding set is then
//! already as small as the unit allows, and what cannot be dropped is logged.

use std::path::Path;

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{Gid, Uid, User};

/// The capabilities hatod runs with.
pub const KEPT: [Capability; 2] = [Capability::CAP_NET_ADMIN, Capability::CAP_NET_RAW];

fn kept() -> CapsHashSet {
    KEPT.into_iter().collect()
}

/// Turns a capability error into a message saying what failed.
fn err(what: &'static str) -> impl Fn(caps::errors::CapsError) -> String {
    move |e| format!("{what}: {e}")
}

fn names(set: &CapsHashSet) -> String {
    let mut names: Vec<String> = set.iter().map(ToString::to_string).collect();
    names.sort();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

/// The user to switch to, looked up by name or numeric id.
fn lookup(user: &str) -> Result<User, String> {
    let by_name = User::from_name(user).map_err(|e| format!("looking up user {user}: {e}"))?;
    let found = match by_name {
        Some(found) => Some(found),
        None => match user.parse::<u32>() {
            Ok(uid) => {
                User::from_uid(Uid::from_raw(uid)).map_err(|e| format!("looking up uid {uid}: {e}"))?
            }
            Err(_) => None,
        },
    };
    found.ok_or_else(|| format!("no such user: {user}"))
}

/// Becomes `user` (when given) and drops every capability but [`KEPT`]. `runtime_dir` is handed
/// to the user, so that hatod can still write its dumps and remove its socket and PID file.
/// Returns a one-line summary for the log.
pub fn drop_privileges(user: Option<&str>, runtime_dir: &Path) -> Result<String, String> {
    let keep = kept();

    let effective = caps::read(None, CapSet::Effective).map_err(err("reading the effective set"))?;
    let bounding = caps::read(None, CapSet::Bounding).map_err(err("reading the bounding set"))?;
    let surplus: CapsHashSet = bounding.difference(&keep).copied().collect();
    if effective.contains(&Capability::CAP_SETPCAP) {
        for capability in &surplus {
            caps::drop(None, CapSet::Bounding, *capability).map_err(err("dropping from the bounding set"))?;
        }
    } else if !surplus.is_empty() {
        tracing::warn!(
            "without CAP_SETPCAP the bounding set keeps {} (restrict it in the service manager)",
            names(&surplus)
        );
    }

    let switched = match user {
        Some(name) => {
            let user = lookup(name)?;
            switch_user(&user, runtime_dir)?;
            format!(", user {} ({}:{})", user.name, user.uid, user.gid)
        }
        None => String::new(),
    };

    let permitted = caps::read(None, CapSet::Permitted).map_err(err("reading the permitted set"))?;
    let remaining: CapsHashSet = permitted.intersection(&keep).copied().collect();
    // The effective set must stay within the permitted one at every step: shrink it first.
    caps::set(None, CapSet::Effective, &remaining).map_err(err("setting the effective set"))?;
    caps::clear(None, CapSet::Ambient).map_err(err("clearing the ambient set"))?;
    caps::clear(None, CapSet::Inheritable).map_err(err("clearing the inheritable set"))?;
    caps::set(None, CapSet::Permitted, &remaining).map_err(err("setting the permitted set"))?;

    let missing: CapsHashSet = keep.difference(&remaining).copied().collect();
    if !missing.is_empty() {
        tracing::warn!("running without {}: new VIFs or sockets may be refused", names(&missing));
    }
    Ok(format!("capabilities {}{switched}", names(&remaining)))
}

/// setgroups / setgid / setuid to `user`, keeping the permitted capabilities across the switch.
fn switch_user(user: &User, runtime_dir: &Path) -> Result<(), String> {
    if !Uid::effective().is_root() {
        return Err(format!("switching to user {} needs root", user.name));
    }
    std::os::unix::fs::chown(runtime_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
        .map_err(|e| format!("handing {} to {}: {e}", runtime_dir.display(), user.name))?;
    caps::securebits::set_keepcaps(true).map_err(|e| format!("PR_SET_KEEPCAPS: {e}"))?;
    let gid: Gid = user.gid;
    nix::unistd::setgroups(&[gid]).map_err(|e| format!("setgroups: {e}"))?;
    nix::unistd::setgid(gid).map_err(|e| format!("setgid {gid}: {e}"))?;
    nix::unistd::setuid(user.uid).map_err(|e| format!("setuid {}: {e}", user.uid))?;
    caps::securebits::set_keepcaps(false).map_err(|e| format!("PR_SET_KEEPCAPS: {e}"))?;
    Ok(())
}
