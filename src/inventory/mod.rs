//! Targets and their transport facts: the inventory file, the implicit
//! `localhost`, and selection by name glob and tag.
//!
//! Knows nothing of how a target is reached; transports read these facts.

mod file;
mod select;

pub use file::{Inventory, InventoryError, Target, default_path, load};
pub use select::{SelectError, Selector, select_targets};
