//! Keys to intents, one pure function per context, k9s-like: list views are
//! in command mode, `/` filters, `:` opens the palette, `?` help, `Esc` goes
//! back one step. Where a text field has focus, printable keys type.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key means in its context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Enter,
    Back,
    Help,
    Palette,
    Quit,
    ForceQuit,
    Filter,
    Toggle,
    All,
    NoneSelected,
    NextField,
    PrevField,
    Type(char),
    Erase,
    CancelOne,
    CancelAll,
    Rerun,
    Group,
    Layout,
    DryRun,
    Note,
    Export,
    CloseIncident,
    Verify,
    Screen(u8),
    Nothing,
}

/// Keys common to every context.
fn global(key: &KeyEvent) -> Option<Intent> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Intent::ForceQuit,
        KeyCode::Esc => Intent::Back,
        KeyCode::Enter => Intent::Enter,
        KeyCode::Up => Intent::Up,
        KeyCode::Down => Intent::Down,
        KeyCode::PageUp => Intent::PageUp,
        KeyCode::PageDown => Intent::PageDown,
        KeyCode::Tab => Intent::NextField,
        KeyCode::BackTab => Intent::PrevField,
        KeyCode::Backspace => Intent::Erase,
        KeyCode::Char('n') if ctrl => Intent::Down,
        KeyCode::Char('p') if ctrl => Intent::Up,
        _ => return None,
    })
}

/// A text field has focus: printable keys type, `?` and `:` still work
/// where `help_keys` says so (the catalog search: names never hold them).
pub fn typing(key: &KeyEvent, help_keys: bool) -> Intent {
    if let Some(intent) = global(key) {
        return intent;
    }
    match key.code {
        KeyCode::Char('?') if help_keys => Intent::Help,
        KeyCode::Char(':') if help_keys => Intent::Palette,
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Intent::Type(c),
        _ => Intent::Nothing,
    }
}

/// A list has focus: letters are commands.
pub fn command(key: &KeyEvent) -> Intent {
    if let Some(intent) = global(key) {
        return intent;
    }
    match key.code {
        KeyCode::Char('k') => Intent::Up,
        KeyCode::Char('j') => Intent::Down,
        KeyCode::Char('g') | KeyCode::Home => Intent::Top,
        KeyCode::Char('G') | KeyCode::End => Intent::Bottom,
        KeyCode::Char('?') => Intent::Help,
        KeyCode::Char(':') => Intent::Palette,
        KeyCode::Char('q') => Intent::Quit,
        KeyCode::Char('/') => Intent::Filter,
        KeyCode::Char(' ') => Intent::Toggle,
        KeyCode::Char('a') => Intent::All,
        KeyCode::Char('n') => Intent::NoneSelected,
        KeyCode::Char('c') => Intent::CancelOne,
        KeyCode::Char('C') => Intent::CancelAll,
        KeyCode::Char('r') => Intent::Rerun,
        KeyCode::Char('o') => Intent::Group,
        KeyCode::Char('v') => Intent::Layout,
        KeyCode::Char('d') => Intent::DryRun,
        KeyCode::Char('N') => Intent::Note,
        KeyCode::Char('e') => Intent::Export,
        KeyCode::Char('x') => Intent::CloseIncident,
        KeyCode::Char('V') => Intent::Verify,
        KeyCode::Char(c @ '1'..='4') => Intent::Screen(c as u8 - b'0'),
        _ => Intent::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_keeps_letters_and_command_mode_uses_them() {
        assert_eq!(typing(&key(KeyCode::Char('q')), true), Intent::Type('q'));
        assert_eq!(typing(&key(KeyCode::Char('?')), true), Intent::Help);
        assert_eq!(typing(&key(KeyCode::Char('?')), false), Intent::Type('?'));
        assert_eq!(command(&key(KeyCode::Char('q'))), Intent::Quit);
        assert_eq!(command(&key(KeyCode::Char('j'))), Intent::Down);
        assert_eq!(command(&key(KeyCode::Char('2'))), Intent::Screen(2));
        assert_eq!(
            typing(
                &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                true
            ),
            Intent::ForceQuit
        );
    }
}
