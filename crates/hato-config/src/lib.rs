//! hato's configuration: the native TOML model, its validation, the typed diff the daemon
//! applies on reload, the embedded default, and importers for mrouted, pimd and pim6sd files.
//!
//! - [`Config`] and its sections ([`model`]): typed, with every default; `Deserialize` from
//!   `hato.toml` and `Serialize` back, so the effective configuration prints as TOML.
//! - [`load`]: parse and validate, with errors that name the file, line, column and, for
//!   numbers, the allowed range ([`ConfigError`]).
//! - [`ConfigDiff`]: what changed between two configurations, interface by interface.
//! - [`default_config`] and [`check_startup`]: the configuration used without a file, and the
//!   "at least two usable interfaces" rule mrouted and pimd also apply.
//! - [`import_mrouted`], [`import_pimd`], [`import_pim6sd`]: other daemons' files → native
//!   configuration plus warnings; [`render_commented`] writes a configuration as commented TOML.
//!
//! No sockets, no files: the daemon reads the text and lists the interfaces.

mod default;
mod diff;
mod import;
pub mod model;
mod render;
#[cfg(test)]
pub(crate) mod strategies;
#[cfg(test)]
mod tests;
mod validate;

pub use default::{check_startup, default_config, StartupError, StartupPlan, SystemInterface, UsableVif};
pub use diff::{ConfigDiff, FieldChanges, InterfaceChange};
pub use import::{import_mrouted, import_pim6sd, import_pimd, ImportWarning, Imported};
pub use model::{
    Boundary, CandidateBsr, CandidateRp, Config, Dvmrp, DvmrpInterface, EffectiveInterface,
    EffectivePimInterface, Family, Global, GmpOverrides, GmpSettings, Interface, LogLevel, Mroute,
    NamedBoundary, Pim, PimMode, PimOverrides, RpSelection, Rpf, RpfBackoff, RpfLookupMode, SptRule,
    SptSwitch, StaticFlow, StaticRp, Tunnel,
};
pub use render::{render, render_commented};
pub use validate::{is_multicast_range, load, ConfigError, ConfigErrors, Path, Problem, Segment};
