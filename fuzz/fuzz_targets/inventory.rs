//! Inventory parsing on arbitrary text.
//! Properties: never panics; an error names the file; an accepted inventory
//! has unique names and serializes back to a file that parses to the same
//! targets.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rune::inventory::Inventory;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz/inventory.toml");
    let inventory = match Inventory::parse(text, path) {
        Ok(inventory) => inventory,
        Err(error) => {
            assert_eq!(error.path, path);
            assert!(error.to_string().starts_with("fuzz/inventory.toml: "));
            return;
        }
    };
    let names: std::collections::HashSet<_> = inventory.targets.iter().map(|t| &t.name).collect();
    assert_eq!(names.len(), inventory.targets.len());
    assert!(inventory.get("localhost").is_some());
    let mut file = toml::Table::new();
    let targets = toml::Value::try_from(&inventory.targets).expect("targets serialize");
    file.insert("targets".into(), targets);
    let again = toml::to_string(&file).expect("an inventory serializes");
    let again = Inventory::parse(&again, path).expect("a written inventory parses again");
    assert_eq!(again.targets, inventory.targets);
});
