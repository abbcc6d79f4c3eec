//! Editing and moving, shared by every screen's handler: typing into an
//! input, stepping a list cursor, scrolling a long text. Pure helpers on
//! plain values; they know no screen.

use tui_input::{Input, InputRequest};

use super::super::keys::Intent;

/// Types or erases in `input`; false when the intent is not an edit, so the
/// caller handles it as a command.
pub fn edit(input: &mut Input, intent: Intent) -> bool {
    let request = match intent {
        Intent::Type(c) => InputRequest::InsertChar(c),
        Intent::Erase => InputRequest::DeletePrevChar,
        _ => return false,
    };
    input.handle(request);
    true
}

/// Moves a list cursor over `len` rows; it never leaves the list.
pub fn step(cursor: &mut usize, len: usize, intent: Intent) {
    let last = len.saturating_sub(1);
    *cursor = match intent {
        Intent::Up => cursor.saturating_sub(1),
        Intent::Down => (*cursor + 1).min(last),
        Intent::Top => 0,
        Intent::Bottom => last,
        Intent::PageUp => cursor.saturating_sub(10),
        Intent::PageDown => (*cursor + 10).min(last),
        _ => *cursor,
    };
}

/// Scrolling a long detail text; the view clamps to the text's end, since
/// only it knows how many lines the text wraps to.
pub fn scroll(offset: &mut usize, intent: Intent) {
    *offset = match intent {
        Intent::Up => offset.saturating_sub(1),
        Intent::Down => offset.saturating_add(1),
        Intent::PageUp => offset.saturating_sub(10),
        Intent::PageDown => offset.saturating_add(10),
        Intent::Top => 0,
        _ => *offset,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_stays_in_its_list_and_an_edit_is_only_typing() {
        let mut cursor = 0;
        step(&mut cursor, 3, Intent::Up);
        assert_eq!(cursor, 0);
        step(&mut cursor, 3, Intent::PageDown);
        assert_eq!(cursor, 2);
        step(&mut cursor, 0, Intent::Bottom);
        assert_eq!(cursor, 0);
        let mut input = Input::default();
        assert!(edit(&mut input, Intent::Type('x')));
        assert!(!edit(&mut input, Intent::Enter));
        assert!(edit(&mut input, Intent::Erase));
        assert_eq!(input.value(), "");
    }
}
