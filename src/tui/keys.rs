//! Keys and what they mean. Each screen and overlay declares its keys once, as [`KeyGroup`]s;
//! the same table maps a key press to an [`Action`], fills the footer hints and the help
//! overlay, so the three can never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the operator asked for, independent of the key that asked. The writes (publish,
/// hotfix, delete, restore) are refused in read-only mode by [`Action::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Scroll the JSON pane of a section tab by one line.
    ScrollUp,
    ScrollDown,
    Open,
    Back,
    Filter,
    Sort,
    /// Reverse the sort order.
    ReverseSort,
    Refresh,
    Verify,
    VerifyAll,
    NextTab,
    PrevTab,
    Help,
    Quit,
    /// Open a document file in the editor.
    Publish,
    /// Open the selected version in the editor with its patch number bumped.
    Hotfix,
    /// The same, edited in `$VISUAL`/`$EDITOR` (from the built-in editor: its text).
    EditOutside,
    /// Delete the selected version.
    Delete,
    /// Delete every version of the package.
    DeleteAll,
    /// Copy what is selected (id@version, or the JSON of a detail tab) to the clipboard.
    Copy,
    /// Copy the selected row's hash to the clipboard.
    CopyHash,
    /// The next match of a search in a text view.
    SearchNext,
    /// The previous match.
    SearchPrev,
    /// Mark the selected version (or unmark it) for a diff.
    Mark,
    /// Diff the selected version against the marked one.
    Diff,
    /// Put the rows of the selected trash file back.
    Restore,
    /// Make the selected version the one the ObjectStack server answers and loads.
    Promote,
    /// The Boot screen: the server's boot replayed.
    Boot,
    /// The trash screen.
    Trash,
    /// The connection picker.
    Connections,
    /// Compare: copy the selected version to the other registry.
    CopyAcross,
    /// The `:` command line.
    CommandLine,
    /// The drafts kept from earlier sessions.
    Drafts,
    /// Back to the Packages screen, closing everything above it.
    Home,
    /// Editor: review the document before publishing.
    Review,
    /// Editor: move the cursor to the syntax error.
    GoToError,
    /// Path prompt: complete the file name.
    Complete,
    /// Review and confirm dialogs: yes, go ahead.
    Confirm,
    /// A key the text editor handles itself, listed so the hints can name it.
    Edit,
}

impl Action {
    /// The write this action starts, named for the read-only refusal; `None` for reads.
    pub fn write(self) -> Option<&'static str> {
        match self {
            Action::Publish => Some("publish"),
            Action::Hotfix | Action::EditOutside => Some("hotfix"),
            Action::Delete | Action::DeleteAll => Some("delete"),
            Action::Restore => Some("restore"),
            Action::Promote => Some("promote"),
            Action::CopyAcross => Some("copy"),
            _ => None,
        }
    }
}

/// One key a binding answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character, whatever Shift did to produce it.
    Char(char),
    /// A named key without Ctrl or Alt.
    Code(KeyCode),
    Ctrl(char),
}

impl Key {
    pub fn matches(self, event: &KeyEvent) -> bool {
        let chorded = event
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self {
            Key::Char(c) => event.code == KeyCode::Char(c) && !chorded,
            Key::Code(code) => event.code == code && !chorded,
            Key::Ctrl(c) => {
                event.code == KeyCode::Char(c) && event.modifiers.contains(KeyModifiers::CONTROL)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    /// The keys as the help overlay shows them.
    pub shown: &'static str,
    /// What they do, for the help overlay.
    pub does: &'static str,
    /// The short form for the footer, when the binding is worth a hint there.
    pub hint: Option<&'static str>,
    pub action: Action,
}

#[derive(Debug, Clone, Copy)]
pub struct KeyGroup {
    pub title: &'static str,
    pub bindings: &'static [Binding],
}

/// The action the first group that knows `event` maps it to.
pub fn lookup(groups: &[&KeyGroup], event: &KeyEvent) -> Option<Action> {
    groups
        .iter()
        .flat_map(|g| g.bindings.iter())
        .find(|b| b.keys.iter().any(|k| k.matches(event)))
        .map(|b| b.action)
}

/// Whether this is the one key that quits from anywhere, even while typing.
pub fn is_interrupt(event: &KeyEvent) -> bool {
    Key::Ctrl('c').matches(event)
}

const fn bind(
    keys: &'static [Key],
    shown: &'static str,
    does: &'static str,
    hint: Option<&'static str>,
    action: Action,
) -> Binding {
    Binding {
        keys,
        shown,
        does,
        hint,
        action,
    }
}

/// Keys every screen answers to.
pub const GLOBAL: KeyGroup = KeyGroup {
    title: "Everywhere",
    bindings: &[
        bind(
            &[Key::Char('?')],
            "?",
            "this help",
            Some("? help"),
            Action::Help,
        ),
        bind(
            &[Key::Char('V')],
            "V",
            "verify every row of the registry (Esc cancels)",
            Some("V verify all"),
            Action::VerifyAll,
        ),
        bind(
            &[Key::Char('r')],
            "r",
            "refresh from the registry",
            None,
            Action::Refresh,
        ),
        bind(
            &[Key::Char('p')],
            "p",
            "publish a document from a file (opens it in the editor)",
            Some("p publish"),
            Action::Publish,
        ),
        bind(
            &[Key::Char('b')],
            "b",
            "boot: what the ObjectStack server loads from this registry, row by row",
            Some("b boot"),
            Action::Boot,
        ),
        bind(
            &[Key::Char('t')],
            "t",
            "the trash: rows saved before a delete, an overwrite or a promote, to restore",
            None,
            Action::Trash,
        ),
        bind(
            &[Key::Char('c')],
            "c",
            "switch to a saved connection",
            None,
            Action::Connections,
        ),
        bind(
            &[Key::Char(':')],
            ":",
            "command line: a package id (id@version for a version) or a screen, Tab completes",
            None,
            Action::CommandLine,
        ),
        bind(&[Key::Char('q')], "q", "quit", Some("q quit"), Action::Quit),
        bind(
            &[Key::Ctrl('c')],
            "Ctrl-C",
            "quit from anywhere, even while typing (exit status 130)",
            None,
            Action::Quit,
        ),
    ],
};

/// Moving in a list.
pub const LIST: KeyGroup = KeyGroup {
    title: "Move",
    bindings: &[
        bind(
            &[Key::Code(KeyCode::Up), Key::Char('k')],
            "↑ k",
            "previous row",
            Some("↑↓ move"),
            Action::Up,
        ),
        bind(
            &[Key::Code(KeyCode::Down), Key::Char('j')],
            "↓ j",
            "next row",
            None,
            Action::Down,
        ),
        bind(
            &[Key::Code(KeyCode::PageUp)],
            "PgUp",
            "one page up",
            None,
            Action::PageUp,
        ),
        bind(
            &[Key::Code(KeyCode::PageDown)],
            "PgDn",
            "one page down",
            None,
            Action::PageDown,
        ),
        bind(
            &[Key::Char('g'), Key::Code(KeyCode::Home)],
            "g Home",
            "first row",
            None,
            Action::Top,
        ),
        bind(
            &[Key::Char('G'), Key::Code(KeyCode::End)],
            "G End",
            "last row",
            None,
            Action::Bottom,
        ),
    ],
};

/// Enter, with what it opens on this screen.
pub const fn open(does: &'static str) -> Binding {
    bind(
        &[Key::Code(KeyCode::Enter)],
        "Enter",
        does,
        Some("Enter open"),
        Action::Open,
    )
}
/// Esc (or ⌫, or q) on an overlay, with what closing it means there.
pub const fn close(does: &'static str) -> Binding {
    bind(
        &[
            Key::Code(KeyCode::Esc),
            Key::Code(KeyCode::Backspace),
            Key::Char('q'),
        ],
        "Esc",
        does,
        Some("Esc close"),
        Action::Back,
    )
}
/// Esc on a dialog or a running task, with what it cancels there.
pub const fn cancel(does: &'static str) -> Binding {
    bind(
        &[Key::Code(KeyCode::Esc)],
        "Esc",
        does,
        Some("Esc cancel"),
        Action::Back,
    )
}
/// Scrolling a text overlay; one hint stands for both directions.
pub const SCROLL_UP: Binding = bind(
    &[Key::Code(KeyCode::Up), Key::Char('k')],
    "↑ k",
    "scroll up",
    Some("↑↓ scroll"),
    Action::Up,
);
pub const SCROLL_DOWN: Binding = bind(
    &[Key::Code(KeyCode::Down), Key::Char('j')],
    "↓ j",
    "scroll down",
    None,
    Action::Down,
);
/// Paging a text overlay (Space pages down too, as in a pager), and its two ends.
pub const SCROLL_PAGE_UP: Binding = bind(
    &[Key::Code(KeyCode::PageUp)],
    "PgUp",
    "one page up",
    None,
    Action::PageUp,
);
pub const SCROLL_PAGE_DOWN: Binding = bind(
    &[Key::Code(KeyCode::PageDown), Key::Char(' ')],
    "PgDn",
    "one page down",
    None,
    Action::PageDown,
);
pub const SCROLL_TOP: Binding = bind(
    &[Key::Char('g'), Key::Code(KeyCode::Home)],
    "g Home",
    "top",
    None,
    Action::Top,
);
pub const SCROLL_BOTTOM: Binding = bind(
    &[Key::Char('G'), Key::Code(KeyCode::End)],
    "G End",
    "bottom",
    None,
    Action::Bottom,
);
pub const BACK: Binding = bind(
    &[Key::Code(KeyCode::Esc), Key::Code(KeyCode::Backspace)],
    "Esc ⌫",
    "clear the filter, else go back",
    Some("Esc back"),
    Action::Back,
);
/// Esc where there is nothing to go back to.
pub const CLEAR_FILTER: Binding = bind(
    &[Key::Code(KeyCode::Esc), Key::Code(KeyCode::Backspace)],
    "Esc ⌫",
    "clear the filter",
    None,
    Action::Back,
);
pub const FILTER: Binding = bind(
    &[Key::Char('/')],
    "/",
    "filter as you type (Enter keeps it, Esc clears it)",
    Some("/ filter"),
    Action::Filter,
);
pub const SORT: Binding = bind(
    &[Key::Char('s')],
    "s",
    "next sort order (failures first is one of them)",
    Some("s sort"),
    Action::Sort,
);
pub const REVERSE_SORT: Binding = bind(
    &[Key::Char('S')],
    "S",
    "reverse the sort order",
    None,
    Action::ReverseSort,
);

pub const HOTFIX: Binding = bind(
    &[Key::Char('h')],
    "h",
    "hotfix: edit this version with its patch number bumped, then publish",
    Some("h hotfix"),
    Action::Hotfix,
);
pub const EDIT_OUTSIDE: Binding = bind(
    &[Key::Char('e')],
    "e",
    "hotfix this version in $VISUAL/$EDITOR, not the built-in editor, then review",
    None,
    Action::EditOutside,
);
pub const DELETE: Binding = bind(
    &[Key::Char('d')],
    "d",
    "delete this version (to the trash; you type the version to confirm)",
    Some("d delete"),
    Action::Delete,
);
pub const PROMOTE: Binding = bind(
    &[Key::Char('P')],
    "P",
    "promote: make this version the one the server answers and loads",
    Some("P promote"),
    Action::Promote,
);
pub const DELETE_ALL: Binding = bind(
    &[Key::Char('D')],
    "D",
    "delete every version of the package (to the trash; you type the id)",
    Some("D delete all"),
    Action::DeleteAll,
);

pub const COPY: Binding = bind(
    &[Key::Char('y')],
    "y",
    "copy id@version to the clipboard (OSC 52)",
    Some("y copy"),
    Action::Copy,
);
pub const COPY_HASH: Binding = bind(
    &[Key::Char('Y')],
    "Y",
    "copy the hash to the clipboard (OSC 52)",
    None,
    Action::CopyHash,
);
pub const MARK: Binding = bind(
    &[Key::Char('m')],
    "m",
    "mark this version (again: unmark) to diff against it with =",
    None,
    Action::Mark,
);
pub const DIFF: Binding = bind(
    &[Key::Char('=')],
    "=",
    "diff the selected version against the marked one",
    None,
    Action::Diff,
);

/// Keys of a search line while it is being typed; the view handles them itself.
pub const SEARCH_EDIT: KeyGroup = KeyGroup {
    title: "Search",
    bindings: &[
        bind(
            &[Key::Code(KeyCode::Enter)],
            "Enter",
            "keep the search (n next match, N previous)",
            Some("Enter keep"),
            Action::Open,
        ),
        bind(
            &[Key::Code(KeyCode::Esc)],
            "Esc",
            "end the search",
            Some("Esc end"),
            Action::Back,
        ),
    ],
};

/// Keys of the filter line while it is being typed; the list handles them itself.
pub const FILTER_EDIT: KeyGroup = KeyGroup {
    title: "Filter",
    bindings: &[
        bind(
            &[Key::Code(KeyCode::Enter)],
            "Enter",
            "keep the filter",
            Some("Enter keep"),
            Action::Open,
        ),
        bind(
            &[Key::Code(KeyCode::Esc)],
            "Esc",
            "clear the filter",
            Some("Esc clear"),
            Action::Back,
        ),
        bind(
            &[Key::Code(KeyCode::Up), Key::Code(KeyCode::Down)],
            "↑↓",
            "move while filtering",
            Some("↑↓ move"),
            Action::Down,
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_letters_and_ctrl_are_told_apart() {
        let upper_v = KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let plain_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(lookup(&[&GLOBAL], &upper_v), Some(Action::VerifyAll));
        assert!(is_interrupt(&ctrl_c));
        assert!(!is_interrupt(&plain_c));
        assert_eq!(lookup(&[&GLOBAL], &plain_c), Some(Action::Connections));
        assert_eq!(lookup(&[&GLOBAL, &LIST], &ctrl_c), Some(Action::Quit));
        let plain_x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(lookup(&[&GLOBAL, &LIST], &plain_x), None);
    }
}
