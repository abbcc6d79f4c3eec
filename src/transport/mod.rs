//! Transports move bytes to a target and back and report how the process
//! ended. They never parse JSON and never choose an EPS code: the mediator
//! does both. One trait, one implementation per way of reaching a host,
//! each in its own folder with the address it reaches (`ssh/address.rs`).
//!
//! Everything a transport needs is defined here: its kind and capabilities,
//! target addresses, the bundle it ships, the job it runs. Nothing here
//! imports the catalog, inventory, policy or journal; they import from here.

mod address;
mod bundle;
mod error;
mod job;
mod kind;
pub mod local;
mod registry;
pub mod ssh;
pub mod ssm;

pub use address::{Address, Fields};
pub use bundle::{Bundle, BundleFile};
pub use error::{AddressError, TransportError};
pub use job::{Exit, Fanout, Finished, Job, Program, Progress, Transport};
pub use kind::{Capabilities, TransportKind};
pub use registry::Transports;
pub use ssh::SshAddress;
pub use ssm::SsmAddress;
