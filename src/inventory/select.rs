//! Choosing targets: by name (`-t`, globs such as `web-*`) and by tag
//! (`--tag role=web`, all must match). A name that matches nothing is an
//! error, never silently skipped: a typo must not shrink a fan-out unnoticed.

use super::file::{Inventory, Target};

/// What the operator asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub names: Vec<String>,
    /// `key=value` pairs; a target must carry all of them.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("unknown target `{0}`; `rune targets` lists the known ones")]
    Unknown(String),
    #[error("`{0}` is not a valid target pattern: {1}")]
    BadPattern(String, String),
    #[error("`{0}` is not a tag of the form key=value")]
    BadTag(String),
    #[error("no target matches {0}")]
    NoneMatch(String),
    #[error("no target selected: pass -t NAME or --tag KEY=VALUE")]
    NoneSelected,
}

/// The targets `selector` picks, in inventory order, each once.
pub fn select_targets(
    inventory: &Inventory,
    selector: &Selector,
) -> Result<Vec<Target>, SelectError> {
    let tags = selector
        .tags
        .iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(SelectError::BadTag(t.clone())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut picked = vec![false; inventory.targets.len()];
    if selector.names.is_empty() && tags.is_empty() {
        let i = inventory
            .targets
            .iter()
            .position(|t| t.name == "localhost")
            .ok_or(SelectError::NoneSelected)?;
        picked[i] = true;
    } else if selector.names.is_empty() {
        picked.iter_mut().for_each(|p| *p = true);
    }
    for name in &selector.names {
        let hits = matching(inventory, name)?;
        if hits.is_empty() {
            return Err(SelectError::Unknown(name.clone()));
        }
        hits.into_iter().for_each(|i| picked[i] = true);
    }
    let chosen: Vec<Target> = inventory
        .targets
        .iter()
        .zip(picked)
        .filter(|(t, p)| *p && tags.iter().all(|(k, v)| t.tags.get(k) == Some(v)))
        .map(|(t, _)| t.clone())
        .collect();
    if chosen.is_empty() {
        let what = selector
            .names
            .iter()
            .map(|n| format!("-t {n}"))
            .chain(selector.tags.iter().map(|t| format!("--tag {t}")));
        return Err(SelectError::NoneMatch(what.collect::<Vec<_>>().join(" ")));
    }
    Ok(chosen)
}

fn matching(inventory: &Inventory, name: &str) -> Result<Vec<usize>, SelectError> {
    if !name.contains(['*', '?', '[']) {
        return Ok(inventory
            .targets
            .iter()
            .position(|t| t.name == name)
            .into_iter()
            .collect());
    }
    let pattern = glob::Pattern::new(name)
        .map_err(|e| SelectError::BadPattern(name.into(), e.to_string()))?;
    Ok(inventory
        .targets
        .iter()
        .enumerate()
        .filter(|(_, t)| pattern.matches(&t.name))
        .map(|(i, _)| i)
        .collect())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn inventory() -> Inventory {
        let mut text = String::new();
        for (name, role, env) in [
            ("web-1", "web", "prod"),
            ("web-2", "web", "prod"),
            ("web-3", "web", "stage"),
            ("db-1", "db", "prod"),
        ] {
            text += &format!(
                "[[targets]]\nname = \"{name}\"\ntransport = \"ssh\"\ntags = {{ role = \"{role}\", env = \"{env}\" }}\n"
            );
        }
        Inventory::parse(&text, Path::new("inv.toml")).unwrap()
    }

    fn names(names: &[&str], tags: &[&str]) -> Result<Vec<String>, SelectError> {
        let selector = Selector {
            names: names.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
        };
        Ok(select_targets(&inventory(), &selector)?
            .into_iter()
            .map(|t| t.name)
            .collect())
    }

    #[test]
    fn nothing_selected_means_localhost() {
        assert_eq!(names(&[], &[]).unwrap(), ["localhost"]);
    }

    #[test]
    fn names_globs_and_tags_combine() {
        assert_eq!(names(&["web-*"], &[]).unwrap(), ["web-1", "web-2", "web-3"]);
        assert_eq!(
            names(&["web-*"], &["env=prod"]).unwrap(),
            ["web-1", "web-2"]
        );
        assert_eq!(
            names(&[], &["role=web", "env=prod"]).unwrap(),
            ["web-1", "web-2"]
        );
        assert_eq!(
            names(&["db-1", "web-1", "db-1"], &[]).unwrap(),
            ["web-1", "db-1"],
            "inventory order, once each"
        );
    }

    #[test]
    fn unknown_names_and_empty_matches_are_errors() {
        assert_eq!(
            names(&["web-9"], &[]),
            Err(SelectError::Unknown("web-9".into()))
        );
        assert_eq!(
            names(&["app-*"], &[]),
            Err(SelectError::Unknown("app-*".into()))
        );
        assert!(matches!(
            names(&[], &["role=cache"]),
            Err(SelectError::NoneMatch(_))
        ));
        assert_eq!(
            names(&[], &["role"]),
            Err(SelectError::BadTag("role".into()))
        );
        assert!(matches!(
            names(&["web-[1"], &[]),
            Err(SelectError::BadPattern(..))
        ));
    }
}
