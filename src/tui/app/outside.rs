//! Editing in `$VISUAL`/`$EDITOR`: the document waits here for the terminal loop, which
//! suspends the console and runs the editor; what the editor left opens in the built-in
//! editor and, changed and valid, goes straight to the review.

use super::*;

impl App {
    /// Hands a document to `$VISUAL`/`$EDITOR` (the terminal loop runs it), or says why not.
    pub(super) fn edit_outside(&mut self, edit: ExternalEdit) {
        match crate::tui::external::editor() {
            Some(_) => self.outside = Some(edit),
            None => {
                self.say(Message::warning(
                    "set $VISUAL or $EDITOR to edit outside pkgdeck; the built-in editor has it",
                ));
                let mut editor = Editor::new(edit.origin, &edit.text);
                if let Some(path) = edit.draft {
                    editor = editor.with_draft(path);
                }
                self.open_editor(editor);
            }
        }
    }

    /// The document to edit in `$VISUAL`/`$EDITOR`, once: the terminal loop suspends the
    /// console, runs the editor on its draft file and hands the result to
    /// [`App::edited_outside`].
    pub fn take_outside_edit(&mut self) -> Option<ExternalEdit> {
        self.outside.take()
    }

    /// The editor outside exited: its text (read back from `draft`) opens in the built-in
    /// editor, which validates it, and goes straight to the review when it is valid and
    /// changed. `Err` says why the editor or the file failed; the draft keeps the text.
    pub fn edited_outside(
        &mut self,
        edit: ExternalEdit,
        draft: PathBuf,
        text: Result<String, String>,
    ) {
        let (text, problem) = match text {
            Ok(t) => (t, None),
            Err(why) => (edit.text.clone(), Some(why)),
        };
        let changed = text.trim_end() != edit.text.trim_end();
        let mut editor =
            Editor::new(edit.origin, &crate::tui::document::visible(&text)).with_draft(draft);
        if let Some(why) = problem {
            self.say(Message::error(why));
            return self.open_editor(editor);
        }
        if !changed {
            self.say(Message::info(
                "nothing changed outside: the text is in the built-in editor (Ctrl-S reviews it)",
            ));
            return self.open_editor(editor);
        }
        let review = editor.review_now();
        self.open_editor(editor);
        self.carry_out(review, true);
    }
}
