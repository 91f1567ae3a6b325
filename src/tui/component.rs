//! The uniform shape of every screen and overlay: the [`Component`] trait, the [`Outcome`]
//! a component answers with, and the [`Context`] it draws with. The app carries outcomes out;
//! a component never reaches the app or the worker, it only asks (an [`Outcome::Request`]).

use std::time::Instant;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;

use super::integrity::Integrity;
use super::keys::{Action, KeyGroup};
use super::list::ListView;
use super::message::Message;
use super::protocol::Request;
use super::screens::editor::Origin;
use super::screens::{Modal, Screen};

/// What a screen reads, beyond its own state, to draw itself.
pub struct Context<'a> {
    pub integrity: &'a Integrity,
    /// The time the frame is drawn at (changed rows are highlighted for a while).
    pub now: Instant,
}

/// What the app must do after a component handled an action.
pub enum Outcome {
    /// Nothing beyond the component's own state.
    Done,
    /// Leave this screen, or close this overlay.
    Back,
    /// Open a screen on top (an overlay that asks this closes first).
    Push(Box<Screen>),
    /// Ask the registry.
    Request(Request),
    /// A write the operator confirmed by typing a production connection's name: it goes
    /// to the worker without asking again.
    Write(Request),
    /// Open an overlay on top of the open ones.
    Overlay(Modal),
    /// Close every overlay (a publish went through: its review and editor are done).
    CloseAll,
    /// A message for the footer.
    Say(Message),
    /// Carry out an action as if its key had been pressed on the screen (a command line's).
    Act(Action),
    /// Put `text` on the clipboard (OSC 52, written by the terminal loop); `what` names it
    /// for the footer.
    Copy { text: String, what: String },
    /// Go to a package or a version from anywhere: the stack becomes Packages › the
    /// package's versions (› the version), whatever was open, so the breadcrumb says where.
    Jump(Jump),
    /// Hand the text to `$VISUAL`/`$EDITOR`: the terminal loop suspends the console for it.
    EditOutside(ExternalEdit),
    /// Several of these, in order.
    All(Vec<Outcome>),
}

/// A document to edit outside the console, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalEdit {
    pub origin: Origin,
    pub text: String,
    /// The draft file it is kept in, if it already has one.
    pub draft: Option<std::path::PathBuf>,
}

/// Where [`Outcome::Jump`] goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jump {
    Package(String),
    /// A version's detail, on its Integrity tab when `integrity`.
    Version {
        id: String,
        version: String,
        integrity: bool,
    },
    /// The Compare screen with the saved connection of this name (`:compare NAME`).
    Compare(String),
}

/// The uniform shape of every screen and overlay.
pub trait Component {
    /// Key groups in the order the help overlay lists them; the footer hints come from them.
    fn keys(&self) -> Vec<&'static KeyGroup>;
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context);
    /// `page` is how many list rows fit on screen.
    fn handle(&mut self, action: Action, page: usize) -> Outcome;
    /// Whether the component is a list screen: its list takes the moves, `/` and the `Esc`
    /// that clears a filter before [`Component::handle`] sees them (see [`Component::act`]).
    fn list_screen(&self) -> bool {
        false
    }
    /// What the console calls for an action: on a list screen the list's own keys first,
    /// then [`Component::handle`].
    fn act(&mut self, action: Action, page: usize) -> Outcome {
        if self.list_screen() {
            if let Some(list) = self.list_mut() {
                if list.apply(action, page) {
                    return Outcome::Done;
                }
                match action {
                    Action::Filter => {
                        list.start_filter();
                        return Outcome::Done;
                    }
                    Action::Back if list.clear_filter() => return Outcome::Done,
                    _ => {}
                }
            }
        }
        self.handle(action, page)
    }
    /// A key for a component that is taking text (the filter line, the editor, a prompt).
    /// `None` when it is not: the key then maps to an action through [`Component::keys`].
    fn input(&mut self, event: &KeyEvent, page: usize) -> Option<Outcome> {
        let list = self.list_mut().filter(|l| l.editing())?;
        list.filter_key(event, page);
        Some(Outcome::Done)
    }
    /// The keys of the line being typed (a filter, a search), when one is: the footer and
    /// the help show them instead of the screen's.
    fn typing_keys(&self) -> Option<&'static KeyGroup> {
        self.list()
            .filter(|l| l.editing())
            .map(|_| &super::keys::FILTER_EDIT)
    }
    /// A left click at the cell `(x, y)`; `double` when it is the second click on the same
    /// line in quick succession. On a list it selects the row clicked, and a double click
    /// opens it.
    fn click(&mut self, x: u16, y: u16, double: bool, page: usize) -> Outcome {
        let Some(list) = self.list_mut() else {
            return Outcome::Done;
        };
        let Some(pos) = list.position_at(x, y) else {
            return Outcome::Done;
        };
        list.select_position(pos);
        if double {
            self.act(Action::Open, page)
        } else {
            Outcome::Done
        }
    }
    /// Whether the screen changes by itself at `now` (a highlight fading): the loop redraws.
    fn animating(&self, _now: Instant) -> bool {
        false
    }
    /// The mouse wheel: a line down (`down`) or up.
    fn wheel(&mut self, down: bool, page: usize) -> Outcome {
        self.act(if down { Action::Down } else { Action::Up }, page)
    }
    /// The list a `/` filter is typed into, if the component has one now.
    fn list_mut(&mut self) -> Option<&mut ListView> {
        None
    }
    fn list(&self) -> Option<&ListView> {
        None
    }
    /// What is known about integrity changed (a verify, a refresh): a list sorted by it
    /// sorts again.
    fn integrity_changed(&mut self, _integrity: &Integrity) {}
}
