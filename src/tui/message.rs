//! The footer's message: one sentence with its kind. A leaf module: the app, the screens and
//! the view all use it, and it uses nothing of theirs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Warning,
    Error,
}

/// The latest message, shown in the footer until the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: MessageKind,
    pub text: String,
}

impl Message {
    pub fn info(text: impl Into<String>) -> Message {
        Message {
            kind: MessageKind::Info,
            text: text.into(),
        }
    }

    pub fn warning(text: impl Into<String>) -> Message {
        Message {
            kind: MessageKind::Warning,
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Message {
        Message {
            kind: MessageKind::Error,
            text: text.into(),
        }
    }
}
