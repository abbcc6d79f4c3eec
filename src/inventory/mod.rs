//! Targets and their addresses: the inventory file, the implicit
//! `localhost`, selection by name glob and tag, and appending discovered
//! targets to a file.
//!
//! Knows nothing of how a target is reached: each transport parses and
//! owns its own address (`transport::Address`); the inventory only keeps it.

mod append;
mod file;
mod row;
mod select;

pub use append::{Appended, append};
pub use file::{Inventory, InventoryError, Target, default_path, load};
pub use select::{SelectError, Selector, select_targets};
