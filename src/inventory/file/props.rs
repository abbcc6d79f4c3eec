//! Properties of inventory parsing, mirroring the `inventory` fuzz target
//! (fuzz/fuzz_targets/inventory.rs) so CI exercises them: any text ends in an
//! inventory or an error naming the file and the line or target, and a valid
//! generated inventory, written as an operator would write it, round-trips
//! every target.

use proptest::prelude::*;

use super::*;
use crate::transport::{SshAddress, SsmAddress};

const PATH: &str = "inv.toml";

prop_compose! {
    fn gen_target()(
        kind in proptest::sample::select(
            vec![TransportKind::Local, TransportKind::Ssh, TransportKind::Ssm]),
        host in proptest::option::of("[a-z0-9.-]{1,20}"),
        port in proptest::option::of(any::<u16>()),
        user in proptest::option::of("[a-z_][a-z0-9_-]{0,8}"),
        instance_id in "(i|mi)-[0-9a-f]{8,17}",
        region in proptest::option::of("[a-z]{2}-[a-z]+-[1-9]"),
        tags in proptest::collection::btree_map("[a-z][a-z0-9_-]{0,6}", "\\PC{0,10}", 0..4),
    ) -> Target {
        // Only the fields each transport takes: anything else is refused.
        let address = match kind {
            TransportKind::Local => Address::Local,
            TransportKind::Ssh => Address::Ssh(SshAddress { host, port, user }),
            TransportKind::Ssm => Address::Ssm(SsmAddress { instance_id, region }),
        };
        Target {
            name: String::new(),
            address,
            tags,
        }
    }
}

/// Targets with distinct names (sometimes one named `localhost`).
fn gen_targets() -> impl Strategy<Value = Vec<Target>> {
    let names =
        proptest::collection::btree_set("[A-Za-z0-9][A-Za-z0-9._@:-]{0,15}|localhost", 0..6);
    names.prop_flat_map(|names| {
        let targets = proptest::collection::vec(gen_target(), names.len());
        (Just(names), targets).prop_map(|(names, targets)| {
            names
                .into_iter()
                .zip(targets)
                .map(|(name, target)| Target { name, ..target })
                .collect()
        })
    })
}

/// A TOML string literal, escaped as an operator's editor would write it.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Writes the inventory by hand, in the shape docs/formats.md shows.
fn render(targets: &[Target]) -> String {
    let mut out = String::new();
    for t in targets {
        out.push_str("[[targets]]\n");
        out.push_str(&format!("name = {}\n", quoted(&t.name)));
        out.push_str(&format!("transport = \"{}\"\n", t.kind().as_str()));
        // The address's own fields, written by hand as an operator would.
        let (texts, port) = match &t.address {
            Address::Local => (Vec::new(), None),
            Address::Ssh(a) => (vec![("host", &a.host), ("user", &a.user)], a.port),
            Address::Ssm(a) => {
                out.push_str(&format!("instance_id = {}\n", quoted(&a.instance_id)));
                (vec![("region", &a.region)], None)
            }
        };
        for (key, value) in texts {
            if let Some(value) = value {
                out.push_str(&format!("{key} = {}\n", quoted(value)));
            }
        }
        if let Some(port) = port {
            out.push_str(&format!("port = {port}\n"));
        }
        let tags: Vec<String> = t
            .tags
            .iter()
            .map(|(k, v)| format!("{} = {}", quoted(k), quoted(v)))
            .collect();
        out.push_str(&format!("tags = {{ {} }}\n\n", tags.join(", ")));
    }
    out
}

/// A valid inventory with some characters replaced, and perhaps cut short.
fn damaged_inventory() -> impl Strategy<Value = String> {
    let edits = proptest::collection::vec(
        (any::<prop::sample::Index>(), "\\PC{0,3}|[\"=\\[\\]{}\n]"),
        1..4,
    );
    (gen_targets(), edits, any::<prop::sample::Index>()).prop_map(|(targets, edits, cut)| {
        let mut text: Vec<char> = render(&targets).chars().collect();
        for (at, insert) in edits {
            let at = at.index(text.len() + 1);
            let end = (at + 1).min(text.len());
            text.splice(at..end, insert.chars());
        }
        let keep = cut.index(text.len() + 1).max(text.len() * 3 / 4);
        text.truncate(keep);
        text.into_iter().collect()
    })
}

proptest! {
    #[test]
    fn any_inventory_text_never_panics_and_errors_name_file_and_place(
        text in prop_oneof![any::<String>(), damaged_inventory()],
    ) {
        match Inventory::parse(&text, Path::new(PATH)) {
            Ok(inventory) => {
                let names: std::collections::HashSet<_> =
                    inventory.targets.iter().map(|t| &t.name).collect();
                prop_assert_eq!(names.len(), inventory.targets.len());
                prop_assert!(inventory.get("localhost").is_some());
            }
            Err(error) => {
                let shown = error.to_string();
                prop_assert_eq!(&error.path, Path::new(PATH));
                prop_assert!(shown.starts_with("inv.toml: "), "{shown}");
                prop_assert!(shown.contains("line ") || shown.contains("targets["), "{shown}");
            }
        }
    }

    #[test]
    fn a_generated_inventory_round_trips_its_targets(targets in gen_targets()) {
        let text = render(&targets);
        let inventory = Inventory::parse(&text, Path::new(PATH))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let mut want = targets.clone();
        if !targets.iter().any(|t| t.name == "localhost") {
            want.insert(0, Target::localhost());
        }
        prop_assert_eq!(&inventory.targets, &want);
        prop_assert_eq!(inventory.path.as_deref(), Some(Path::new(PATH)));
        // Written back by serde in the flat shape, as the fuzz target and
        // `rune targets discover --write` do, it parses to the same targets.
        let mut file = toml::Table::new();
        let written = toml::Value::try_from(&inventory.targets)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        file.insert("targets".into(), written);
        let again = toml::to_string(&file).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let again = Inventory::parse(&again, Path::new(PATH))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{again}")))?;
        prop_assert_eq!(&again.targets, &inventory.targets);
    }
}
