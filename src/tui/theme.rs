//! Roles, not colours: views ask for `theme.style(Role::RiskHigh)`. Defaults
//! are compiled in; `themes/NAME.toml` may override single roles; a bad
//! theme file is a warning plus the defaults; NO_COLOR means no colour at
//! all (every state still reads from text: HIGH, ok, fail, [x]).

use std::collections::HashMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

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
    fg: Option<String>,
    bg: Option<String>,
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
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                return (
                    theme,
                    Some(format!("theme {}: {e}; using the defaults", path.display())),
                );
            }
        };
        let roles: HashMap<String, RoleFile> = match toml::from_str(&text) {
            Ok(roles) => roles,
            Err(e) => {
                return (
                    theme,
                    Some(format!(
                        "theme {}: {}; using the defaults",
                        path.display(),
                        e.to_string().trim()
                    )),
                );
            }
        };
        for (key, spec) in roles {
            let Some((role, _)) = Role::ALL.iter().find(|(_, n)| *n == key) else {
                return (
                    Self::dark(),
                    Some(format!(
                        "theme {}: unknown role `{key}`; using the defaults",
                        path.display()
                    )),
                );
            };
            match spec.to_style() {
                Ok(style) => {
                    theme.styles.insert(*role, style);
                }
                Err(e) => {
                    return (
                        Self::dark(),
                        Some(format!(
                            "theme {}: {key}: {e}; using the defaults",
                            path.display()
                        )),
                    );
                }
            }
        }
        theme.name = name.into();
        (theme, None)
    }
}

impl RoleFile {
    fn to_style(&self) -> Result<Style, String> {
        let colour = |c: &Option<String>| -> Result<Option<Color>, String> {
            c.as_deref()
                .map(|s| {
                    s.parse::<Color>()
                        .map_err(|_| format!("{s:?} is not a colour"))
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
        assert!(warning.unwrap().contains("blurple"));
        let (_, missing) = Theme::load("nope", dir.path());
        assert!(missing.unwrap().contains("nope.toml"));
    }
}
