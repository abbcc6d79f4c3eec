//! Targets and their transport facts: the inventory file, the implicit
//! `localhost`, selection by name glob and tag, and appending discovered
//! targets to a file.
//!
//! Knows nothing of how a target is reached; transports read these facts.

mod append;
mod file;
mod select;

pub use append::{Appended, append};
pub use file::{Inventory, InventoryError, Target, default_path, load};
pub use select::{SelectError, Selector, select_targets};
