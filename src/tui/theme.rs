//! Roles, not colours: views ask for `theme.style(Role::RiskHigh)`. Defaults
//! are compiled in; `themes/NAME.toml` may override single roles; a bad
//! theme file (too big, not UTF-8, malformed, an unknown role or a bad
//! colour) is a warning naming file, line and field, plus the defaults; NO_COLOR means no colour at
//! all (every state still reads from text: HIGH, ok, fail, [x]).

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use crate::config::{describe, position, read_small};

/// What a piece of text is, for styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Title,
    Muted,
    Selected,
    Match,
    RiskRead,
    RiskChange,
    RiskHigh,
    Ok,
    Failed,
    Running,
    Border,
}

impl Role {
    const ALL: [(Role, &'static str); 11] = [
        (Role::Title, "title"),
        (Role::Muted, "muted"),
        (Role::Selected, "selected"),
        (Role::Match, "match"),
        (Role::RiskRead, "risk_read"),
        (Role::RiskChange, "risk_change"),
        (Role::RiskHigh, "risk_high"),
        (Role::Ok, "ok"),
        (Role::Failed, "failed"),
        (Role::Running, "running"),
        (Role::Border, "border"),
    ];
}

/// A set of styles by role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: HashMap<Role, Style>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    fg: Option<Spanned<String>>,
    bg: Option<Spanned<String>>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    reversed: bool,
}

impl Theme {
    /// The compiled-in dark theme.
    pub fn dark() -> Self {
        let s = |fg: Color| Style::default().fg(fg);
        let styles = HashMap::from([
            (Role::Title, s(Color::Cyan).add_modifier(Modifier::BOLD)),
            (Role::Muted, s(Color::DarkGray)),
            (
                Role::Selected,
                Style::default().add_modifier(Modifier::REVERSED),
            ),
            (Role::Match, s(Color::Yellow).add_modifier(Modifier::BOLD)),
            (Role::RiskRead, s(Color::Green)),
            (Role::RiskChange, s(Color::Yellow)),
            (Role::RiskHigh, s(Color::Red).add_modifier(Modifier::BOLD)),
            (Role::Ok, s(Color::Green)),
            (Role::Failed, s(Color::Red)),
            (Role::Running, s(Color::Blue)),
            (Role::Border, s(Color::Gray)),
        ]);
        Self {
            name: "dark".into(),
            styles,
        }
    }

    /// No colour, only modifiers: for NO_COLOR and dumb terminals.
    pub fn mono() -> Self {
        let styles = Role::ALL
            .iter()
            .map(|(role, _)| {
                let style = match role {
                    Role::Selected => Style::default().add_modifier(Modifier::REVERSED),
                    Role::Title | Role::RiskHigh | Role::Match => {
                        Style::default().add_modifier(Modifier::BOLD)
                    }
                    _ => Style::default(),
                };
                (*role, style)
            })
            .collect();
        Self {
            name: "mono".into(),
            styles,
        }
    }

    pub fn style(&self, role: Role) -> Style {
        self.styles.get(&role).copied().unwrap_or_default()
    }

    /// The theme called `name`: `mono`, or dark overridden by `dir/NAME.toml`.
    /// Problems come back as a warning alongside the defaults.
    pub fn load(name: &str, dir: &Path) -> (Self, Option<String>) {
        if name == "mono" {
            return (Self::mono(), None);
        }
        let mut theme = Self::dark();
        if name == "dark" && !dir.join("dark.toml").is_file() {
            return (theme, None);
        }
        let path = dir.join(format!("{name}.toml"));
        match read_roles(&path) {
            Ok(roles) => {
                theme.styles.extend(roles);
                theme.name = name.into();
                (theme, None)
            }
            Err(e) => (theme, Some(format!("theme {e}; using the defaults"))),
        }
    }
}

/// The roles `path` overrides, or what is wrong with it as `FILE:LINE: …`.
fn read_roles(path: &Path) -> Result<Vec<(Role, Style)>, String> {
    let text = match read_small(path)? {
        Some(text) => text,
        None => return Err(format!("{}: no such file", path.display())),
    };
    let roles: IndexMap<String, RoleFile> =
        toml::from_str(&text).map_err(|e| describe(path, &text, &e))?;
    let mut styles = Vec::new();
    for (key, spec) in roles {
        let Some((role, _)) = Role::ALL.iter().find(|(_, n)| *n == key) else {
            let line = text
                .lines()
                .position(|l| {
                    l.trim_start()
                        .trim_start_matches('[')
                        .starts_with(key.as_str())
                })
                .map_or(0, |i| i + 1);
            let known: Vec<&str> = Role::ALL.iter().map(|(_, n)| *n).collect();
            return Err(format!(
                "{}:{line}: unknown role `{key}` (roles: {})",
                path.display(),
                known.join(", ")
            ));
        };
        let style = spec.to_style().map_err(|(span, e)| {
            let (line, column) = position(&text, span.start);
            format!("{}:{line}:{column}: {key}: {e}", path.display())
        })?;
        styles.push((*role, style));
    }
    Ok(styles)
}

impl RoleFile {
    /// The style, or the span and reason of the first bad colour.
    fn to_style(&self) -> Result<Style, (std::ops::Range<usize>, String)> {
        let colour = |c: &Option<Spanned<String>>| {
            c.as_ref()
                .map(|s| {
                    s.get_ref()
                        .parse::<Color>()
                        .map_err(|_| (s.span(), format!("{:?} is not a colour", s.get_ref())))
                })
                .transpose()
        };
        let mut style = Style::default();
        if let Some(fg) = colour(&self.fg)? {
            style = style.fg(fg);
        }
        if let Some(bg) = colour(&self.bg)? {
            style = style.bg(bg);
        }
        if self.bold {
            style = style.add_modifier(Modifier::BOLD);
        }
        if self.reversed {
            style = style.add_modifier(Modifier::REVERSED);
        }
        Ok(style)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_load_without_warnings() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
        for name in ["dark", "light", "high-contrast"] {
            let (theme, warning) = Theme::load(name, &dir);
            assert_eq!(warning, None, "{name}");
            assert_eq!(theme.name, name);
        }
    }

    #[test]
    fn a_bad_theme_warns_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            "[risk_high]\nfg = \"blurple\"\n",
        )
        .unwrap();
        let (theme, warning) = Theme::load("bad", dir.path());
        assert_eq!(theme, Theme::dark());
        let warning = warning.unwrap();
        assert!(
            warning.contains("bad.toml:2:6: risk_high: \"blurple\" is not a colour"),
            "{warning}"
        );
        let (_, missing) = Theme::load("nope", dir.path());
        assert!(missing.unwrap().contains("nope.toml"));
    }
}
