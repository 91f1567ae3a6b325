//! The Detail screen of one version: a tab for the manifest, one per metadata section (items
//! by name and label beside the selected item's coloured JSON) and one for integrity (stored
//! vs computed hash, identity and canonical-form checks, from `registry::verify_record`).

use std::cell::{Cell, RefCell};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::layout::{cut, draw_tabs, fit_line, ESSENTIAL};
use super::{copy_hash, draw_empty, draw_table, list_block, placeholder, Column, Field};
use crate::registry::canonical::JsValue;
use crate::registry::diff::{section_items, section_names};
use crate::registry::pretty::pretty;
use crate::registry::LoadedRecord;
use crate::registry::{Problem, Scope, Verification, Warning, SECTIONS};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::document::visible;
use crate::tui::integrity::{Badge, Verdict};
use crate::tui::json;
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::message::Message;
use crate::tui::protocol::{JobError, Request};
use crate::tui::search::{Search, Typed};
use crate::tui::theme;
use crate::untrusted::printable;
use crossterm::event::{KeyCode, KeyEvent};
use unicode_width::UnicodeWidthStr;

const MOVE: KeyGroup = KeyGroup {
    title: "Move",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Up), Key::Char('k')],
            shown: "↑ k",
            does: "previous item (section tabs) or scroll up",
            hint: Some("↑↓ move"),
            action: Action::Up,
        },
        Binding {
            keys: &[Key::Code(KeyCode::Down), Key::Char('j')],
            shown: "↓ j",
            does: "next item (section tabs) or scroll down",
            hint: None,
            action: Action::Down,
        },
        Binding {
            keys: &[Key::Code(KeyCode::PageUp)],
            shown: "PgUp",
            does: "scroll the JSON one page up",
            hint: None,
            action: Action::PageUp,
        },
        Binding {
            keys: &[Key::Code(KeyCode::PageDown)],
            shown: "PgDn",
            does: "scroll the JSON one page down",
            hint: None,
            action: Action::PageDown,
        },
        Binding {
            keys: &[Key::Char('K')],
            shown: "K",
            does: "scroll the JSON one line up",
            hint: None,
            action: Action::ScrollUp,
        },
        Binding {
            keys: &[Key::Char('J')],
            shown: "J",
            does: "scroll the JSON one line down",
            hint: None,
            action: Action::ScrollDown,
        },
        Binding {
            keys: &[Key::Char('g'), Key::Code(KeyCode::Home)],
            shown: "g Home",
            does: "first item, or the top",
            hint: None,
            action: Action::Top,
        },
        Binding {
            keys: &[Key::Char('G'), Key::Code(KeyCode::End)],
            shown: "G End",
            does: "last item, or the bottom",
            hint: None,
            action: Action::Bottom,
        },
    ],
};

const KEYS: KeyGroup = KeyGroup {
    title: "Detail",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Tab)],
            shown: "Tab",
            does: "next tab",
            hint: Some("Tab tabs"),
            action: Action::NextTab,
        },
        Binding {
            keys: &[Key::Code(KeyCode::BackTab)],
            shown: "Shift-Tab",
            does: "previous tab",
            hint: None,
            action: Action::PrevTab,
        },
        keys::open("on a section tab: into the selected item's JSON (Esc comes back)"),
        Binding {
            keys: &[Key::Char('/')],
            shown: "/",
            does: "search the JSON (n next, N previous); on a section's item list, filter it",
            hint: Some("/ search"),
            action: Action::Filter,
        },
        Binding {
            keys: &[Key::Char('n')],
            shown: "n",
            does: "next match of the search",
            hint: None,
            action: Action::SearchNext,
        },
        Binding {
            keys: &[Key::Char('N')],
            shown: "N",
            does: "previous match of the search",
            hint: None,
            action: Action::SearchPrev,
        },
        Binding {
            keys: &[Key::Char('v')],
            shown: "v",
            does: "verify this version",
            hint: Some("v verify"),
            action: Action::Verify,
        },
        Binding {
            keys: &[Key::Char('y')],
            shown: "y",
            does: "copy the manifest, the selected item's JSON, or the hash (Integrity tab)",
            hint: Some("y copy"),
            action: Action::Copy,
        },
        keys::COPY_HASH,
        keys::HOTFIX,
        keys::EDIT_OUTSIDE,
        keys::DELETE,
        keys::BACK,
    ],
};

/// An item's name is never dropped; its label goes when the list is narrow.
const ITEM_COLUMNS: [Column; 2] = [
    Column::flexible("NAME", 8, 16, ESSENTIAL, true),
    Column::flexible("LABEL", 6, 12, 1, true),
];

/// One item of a metadata section.
struct Item {
    name: String,
    label: Option<String>,
    lines: Vec<Line<'static>>,
}

struct Section {
    name: String,
    items: Vec<Item>,
    list: ListView,
    /// JSON scroll as (item row, first line); it applies only while that item is selected.
    scroll: (usize, usize),
}

impl Section {
    fn new(name: String, items: Vec<Item>) -> Section {
        let list = ListView::with_keys(
            items
                .iter()
                .map(|i| format!("{} {}", i.name, i.label.as_deref().unwrap_or(""))),
        );
        Section {
            name,
            items,
            list,
            scroll: (0, 0),
        }
    }

    fn selected(&self) -> Option<(usize, &Item)> {
        let row = self.list.selected_row()?;
        Some((row, self.items.get(row)?))
    }

    fn scroll(&self) -> usize {
        match self.selected() {
            Some((row, _)) if row == self.scroll.0 => self.scroll.1,
            _ => 0,
        }
    }

    fn scroll_by(&mut self, delta: isize, page: usize) {
        let Some((row, item)) = self.selected() else {
            return;
        };
        let max = item.lines.len().saturating_sub(page.max(1));
        let now = self.scroll() as isize;
        self.scroll = (row, (now + delta).clamp(0, max as isize) as usize);
    }
}

/// A loaded version, ready to draw.
struct Content {
    loaded: LoadedRecord,
    manifest: Vec<Line<'static>>,
    sections: Vec<Section>,
    integrity: Vec<Line<'static>>,
}

impl Content {
    fn new(loaded: LoadedRecord) -> Content {
        let manifest = match &loaded.manifest {
            Ok(m) => json::lines(m),
            Err(_) => json::plain(&loaded.record.manifest),
        };
        let sections = match &loaded.metadata {
            Ok(d) => section_names(d)
                .into_iter()
                .map(|name| {
                    let items = section_items(d, &name)
                        .into_iter()
                        .map(|(item_name, v)| Item {
                            name: item_name,
                            label: label_of(v),
                            lines: json::lines(v),
                        })
                        .collect();
                    Section::new(name, items)
                })
                .collect(),
            Err(_) => SECTIONS
                .iter()
                .map(|s| Section::new(s.to_string(), Vec::new()))
                .collect(),
        };
        Content {
            integrity: integrity_lines(&loaded),
            loaded,
            manifest,
            sections,
        }
    }
}

fn label_of(item: &JsValue) -> Option<String> {
    ["label", "title", "locale"]
        .iter()
        .find_map(|k| item.get(k).and_then(JsValue::as_str).map(str::to_owned))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Manifest,
    Section(usize),
    Integrity,
}

pub struct DetailScreen {
    id: String,
    version: String,
    loading: bool,
    error: Option<String>,
    content: Option<Box<Content>>,
    tab: usize,
    manifest_scroll: usize,
    integrity_scroll: usize,
    /// Where each tab title was drawn (x range, tab) and on which line, for the mouse.
    tab_hits: RefCell<Vec<(u16, u16, usize)>>,
    tabs_row: Cell<u16>,
    /// On a section tab: the keys go to the selected item's JSON, not the item list.
    json_focus: bool,
    /// Where the selected item's JSON was drawn, for the mouse.
    json_area: Cell<Rect>,
    /// The search in the text view shown (manifest, an item's JSON, integrity).
    search: Option<Search>,
}

impl DetailScreen {
    pub fn new(id: &str, version: &str) -> DetailScreen {
        DetailScreen {
            id: id.to_owned(),
            version: version.to_owned(),
            loading: true,
            error: None,
            content: None,
            tab: 0,
            manifest_scroll: 0,
            integrity_scroll: 0,
            tab_hits: RefCell::default(),
            tabs_row: Cell::default(),
            json_focus: false,
            json_area: Cell::default(),
            search: None,
        }
    }

    /// The detail of a version opened on its Integrity tab (from a verify failure).
    pub fn on_integrity(id: &str, version: &str) -> DetailScreen {
        DetailScreen {
            // Clamped to the last tab, Integrity, once the sections are known.
            tab: usize::MAX,
            ..DetailScreen::new(id, version)
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn load(&mut self) -> Request {
        self.loading = true;
        Request::Record {
            id: self.id.clone(),
            version: self.version.clone(),
        }
    }

    pub fn receive(&mut self, record: Result<Box<LoadedRecord>, JobError>) {
        self.loading = false;
        match record {
            Ok(loaded) => {
                self.error = None;
                // A reload keeps the item selected in each section, by name.
                let kept: Vec<(String, String)> = self
                    .content
                    .iter()
                    .flat_map(|c| c.sections.iter())
                    .filter_map(|s| Some((s.name.clone(), s.selected()?.1.name.clone())))
                    .collect();
                let mut content = Content::new(*loaded);
                for (section, item) in kept {
                    if let Some(s) = content.sections.iter_mut().find(|s| s.name == section) {
                        if let Some(row) = s.items.iter().position(|i| i.name == item) {
                            s.list.select_row(row);
                        }
                    }
                }
                self.content = Some(Box::new(content));
                self.tab = self.tab.min(self.tab_count() - 1);
                if self.search.is_some() {
                    self.search_again(0);
                }
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn section_count(&self) -> usize {
        self.content
            .as_ref()
            .map_or(SECTIONS.len(), |c| c.sections.len())
    }

    fn tab_count(&self) -> usize {
        self.section_count() + 2
    }

    fn current(&self) -> Tab {
        match self.tab {
            0 => Tab::Manifest,
            t if t > self.section_count() => Tab::Integrity,
            t => Tab::Section(t - 1),
        }
    }

    fn section_mut(&mut self) -> Option<&mut Section> {
        match self.current() {
            Tab::Section(i) => self.content.as_mut()?.sections.get_mut(i),
            _ => None,
        }
    }

    fn section(&self) -> Option<&Section> {
        match self.current() {
            Tab::Section(i) => self.content.as_ref()?.sections.get(i),
            _ => None,
        }
    }

    fn tab_titles(&self) -> Vec<String> {
        let mut titles = vec![" Manifest ".to_owned()];
        match &self.content {
            Some(c) => titles.extend(
                c.sections
                    .iter()
                    .map(|s| format!(" {} ({}) ", printable(&capitalized(&s.name)), s.items.len())),
            ),
            None => titles.extend(SECTIONS.iter().map(|s| format!(" {} ", capitalized(s)))),
        }
        titles.push(" Integrity ".to_owned());
        titles
    }

    /// What `y` copies on the current tab: the manifest, the selected item's JSON (pretty,
    /// with invisible characters as escapes), or the stored hash on Integrity.
    fn copy(&self) -> Outcome {
        let Some(c) = &self.content else {
            return Outcome::Done;
        };
        let who = format!("{}@{}", printable(&self.id), printable(&self.version));
        match self.current() {
            Tab::Manifest => Outcome::Copy {
                text: match &c.loaded.manifest {
                    Ok(m) => visible(&pretty(m)),
                    Err(_) => printable(&c.loaded.record.manifest).into_owned(),
                },
                what: format!("the manifest of {who}"),
            },
            Tab::Section(i) => {
                let (Some(s), Ok(d)) = (c.sections.get(i), &c.loaded.metadata) else {
                    return Outcome::Done;
                };
                let Some((row, item)) = s.selected() else {
                    return Outcome::Done;
                };
                match section_items(d, &s.name).get(row) {
                    Some((_, value)) => Outcome::Copy {
                        text: visible(&pretty(value)),
                        what: format!(
                            "{} item {} of {who}",
                            printable(&s.name),
                            printable(&item.name)
                        ),
                    },
                    None => Outcome::Done,
                }
            }
            Tab::Integrity => copy_hash(&self.id, &self.version, &c.loaded.record.hash),
        }
    }

    /// The lines of the text view the keys go to, if one: the manifest, the integrity
    /// report, or on a section tab the selected item's JSON once it has the focus.
    fn view_lines(&self) -> Option<&[Line<'static>]> {
        let c = self.content.as_ref()?;
        match self.current() {
            Tab::Manifest => Some(&c.manifest),
            Tab::Integrity => Some(&c.integrity),
            Tab::Section(i) if self.json_focus => c
                .sections
                .get(i)?
                .selected()
                .map(|(_, item)| &item.lines[..]),
            Tab::Section(_) => None,
        }
    }

    /// The first line of the text view shown.
    fn view_scroll(&self) -> usize {
        match self.current() {
            Tab::Manifest => self.manifest_scroll,
            Tab::Integrity => self.integrity_scroll,
            Tab::Section(_) => self.section().map_or(0, Section::scroll),
        }
    }

    /// Scrolls the text view so that `line` is on screen (a search match).
    fn reveal(&mut self, line: usize, page: usize) {
        let page = page.max(1);
        let top = self.view_scroll();
        if line >= top && line < top + page {
            return;
        }
        let to = line.saturating_sub(page / 3);
        match self.current() {
            Tab::Manifest => self.manifest_scroll = to,
            Tab::Integrity => self.integrity_scroll = to,
            Tab::Section(_) => {
                if let Some(s) = self.section_mut() {
                    let now = s.scroll() as isize;
                    s.scroll_by(to as isize - now, 1);
                }
            }
        }
    }

    /// Looks for the search again in the view shown and scrolls to its current match.
    fn search_again(&mut self, page: usize) {
        let lines = self.view_lines().map(<[Line]>::to_vec).unwrap_or_default();
        let Some(search) = &mut self.search else {
            return;
        };
        search.find(&lines);
        if let Some(m) = search.current() {
            self.reveal(m.line, page);
        }
    }

    /// Leaving a view ends its search.
    fn leave_view(&mut self) {
        self.search = None;
    }

    /// Scrolls a text tab (manifest, integrity).
    fn scroll_text(&mut self, action: Action, page: usize) {
        let lines = match self.current() {
            Tab::Manifest => self.content.as_ref().map_or(0, |c| c.manifest.len()),
            _ => self.content.as_ref().map_or(0, |c| c.integrity.len()),
        };
        let max = lines.saturating_sub(page.max(1));
        let at = match self.current() {
            Tab::Manifest => &mut self.manifest_scroll,
            _ => &mut self.integrity_scroll,
        };
        *at = match action {
            Action::Up | Action::ScrollUp => at.saturating_sub(1),
            Action::Down | Action::ScrollDown => *at + 1,
            Action::PageUp => at.saturating_sub(page),
            Action::PageDown => *at + page,
            Action::Top => 0,
            Action::Bottom => max,
            _ => *at,
        }
        .min(max);
    }

    fn draw_manifest(&self, frame: &mut Frame, area: Rect, content: &Content) {
        let mut block = Block::bordered().title(Line::styled(" manifest ", theme::TITLE));
        if let Err(e) = &content.loaded.manifest {
            block = block.title_bottom(Line::styled(
                format!(
                    " the manifest is not valid JSON: {} ",
                    printable(&e.to_string())
                ),
                theme::ERROR,
            ));
        }
        block = self.search_title(block);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        draw_lines(
            frame,
            inner,
            &content.manifest,
            self.manifest_scroll,
            self.search.as_ref(),
        );
    }

    /// The search line at the bottom of the view's block, when there is a search.
    fn search_title<'a>(&self, block: Block<'a>) -> Block<'a> {
        match &self.search {
            Some(s) => block.title_bottom(Line::styled(s.status(), theme::FILTER)),
            None => block,
        }
    }

    fn draw_section(&self, frame: &mut Frame, area: Rect, content: &Content, s: &Section) {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(30), Constraint::Percentage(70)])
                .areas(area);
        let block = list_block(
            format!("{} ({})", printable(&capitalized(&s.name)), s.items.len()),
            None,
            &s.list,
            left.width,
        );
        let inner = block.inner(left);
        frame.render_widget(block, left);
        if s.list.shown().is_empty() {
            let error = content
                .loaded
                .metadata
                .as_ref()
                .err()
                .map(|e| format!("the metadata is not valid JSON: {e}"));
            draw_empty(
                frame,
                inner,
                &s.list,
                (false, error.as_deref()),
                "no items",
                "no item matches the filter",
            );
        } else {
            let row = |r: usize| {
                let item = &s.items[r];
                vec![
                    Field::new(printable(&item.name)),
                    Field::new(printable(item.label.as_deref().unwrap_or(""))),
                ]
            };
            draw_table(frame, inner, &s.list, &ITEM_COLUMNS, row, |_| None);
        }
        let Some((_, item)) = s.selected() else {
            frame.render_widget(Block::bordered(), right);
            return;
        };
        let scroll = s.scroll();
        let position = format!(" line {} of {} ", scroll + 1, item.lines.len());
        let room = usize::from(right.width).saturating_sub(position.width() + 5);
        let mut block = Block::bordered()
            .title(Line::styled(
                format!(" {} ", cut(&printable(&item.name), room)),
                theme::TITLE,
            ))
            .title(Line::styled(position, theme::DIM).right_aligned());
        if self.json_focus {
            // The pane the keys go to has the bright border.
            block = self.search_title(block.border_style(theme::TITLE));
        }
        let inner = block.inner(right);
        frame.render_widget(block, right);
        self.json_area.set(right);
        let search = self.search.as_ref().filter(|_| self.json_focus);
        draw_lines(frame, inner, &item.lines, scroll, search);
    }

    fn draw_integrity(&self, frame: &mut Frame, area: Rect, content: &Content) {
        let block =
            self.search_title(Block::bordered().title(Line::styled(" integrity ", theme::TITLE)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        draw_lines(
            frame,
            inner,
            &content.integrity,
            self.integrity_scroll,
            self.search.as_ref(),
        );
    }
}

/// Draws the lines from `scroll` on, cloning only those that fit, with the matches of
/// `search` highlighted; a line wider than the area is cut with `…`.
fn draw_lines(
    frame: &mut Frame,
    area: Rect,
    lines: &[Line<'static>],
    scroll: usize,
    search: Option<&Search>,
) {
    let start = scroll.min(lines.len().saturating_sub(area.height as usize));
    let end = (start + area.height as usize).min(lines.len());
    let width = usize::from(area.width);
    let shown: Vec<Line> = lines[start..end]
        .iter()
        .enumerate()
        // Cut first: a 100 KB line is highlighted only as far as it is drawn.
        .map(|(i, l)| match search {
            Some(s) => s.highlight(start + i, &fit_line(l, width)),
            None => fit_line(l, width),
        })
        .collect();
    frame.render_widget(Paragraph::new(Text::from(shown)), area);
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn check(ok: bool) -> Span<'static> {
    if ok {
        Span::styled("✓ ", theme::badge(Badge::Ok))
    } else {
        Span::styled("✗ ", theme::ERROR)
    }
}

fn integrity_lines(loaded: &LoadedRecord) -> Vec<Line<'static>> {
    let v: &Verification = &loaded.verification;
    let r = &loaded.record;
    let field = |name: &str| Span::styled(format!(" {name:<16}"), theme::COLUMN_HEADER);
    let hash_ok = !v.problems.contains(&Problem::HashMismatch);
    let identity_ok = !v.problems.contains(&Problem::IdentityMismatch)
        && !v.problems.contains(&Problem::ManifestInvalidJson);
    let canonical = !v.warnings.contains(&Warning::NoncanonicalJson);
    let parsed = loaded.manifest.is_ok() && loaded.metadata.is_ok();
    let verdict = Verdict::of(v);
    let verdict = Span::styled(
        [verdict.badge.label()]
            .into_iter()
            .chain(verdict.codes)
            .collect::<Vec<_>>()
            .join(" "),
        theme::badge(verdict.badge),
    );
    let mut lines = vec![
        Line::from(vec![field("Result"), verdict]),
        Line::raw(""),
        Line::from(vec![
            field("Stored hash"),
            Span::raw(printable(&v.stored_hash).into_owned()),
        ]),
        Line::from(vec![
            field("Computed hash"),
            Span::raw(v.computed_hash.clone()),
        ]),
        Line::from(vec![
            field("Hash check"),
            check(hash_ok),
            Span::raw(if hash_ok {
                "sha256 of {\"manifest\":…,\"metadata\":…} over the stored texts matches"
            } else {
                "hash_mismatch: the stored texts do not hash to the stored hash"
            }),
        ]),
        Line::from(vec![
            field("Identity"),
            check(identity_ok),
            Span::raw(format!(
                "row {} {} · manifest {} {}",
                printable(&v.id),
                printable(&v.version),
                printable(v.manifest_id.as_deref().unwrap_or("(no id)")),
                printable(v.manifest_version.as_deref().unwrap_or("(no version)")),
            )),
        ]),
        Line::from(vec![
            field("Canonical form"),
            if !parsed {
                Span::styled("? ", theme::DIM)
            } else if canonical {
                check(true)
            } else {
                Span::styled("⚠ ", theme::WARNING)
            },
            Span::raw(if !parsed {
                "cannot be checked: a stored text is not JSON"
            } else if canonical {
                "manifest and metadata are exactly what JSON.stringify writes"
            } else {
                "noncanonical_json: a stored text is valid but not what JSON.stringify writes"
            }),
        ]),
        Line::from(vec![
            field("Stored texts"),
            Span::raw(format!(
                "manifest {} bytes · metadata {} bytes",
                r.manifest.len(),
                r.metadata.len()
            )),
        ]),
        Line::from(vec![
            field("Created/updated"),
            Span::raw(format!(
                "{} · {}",
                printable(r.created_at.as_deref().unwrap_or("-")),
                printable(r.updated_at.as_deref().unwrap_or("-"))
            )),
        ]),
    ];
    lines.extend(schema_lines(loaded));
    if !v.details.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(" Findings", theme::COLUMN_HEADER));
        for d in &v.details {
            lines.push(Line::raw(format!("  • {}", printable(d))));
        }
    }
    lines
}

/// What the ObjectStack schemas (spec 9) say about the row: a line, then each problem at its
/// JSON path. Warnings: the 17.x server loads such a row; `os plugin build` would not.
fn schema_lines(loaded: &LoadedRecord) -> Vec<Line<'static>> {
    let field = Span::styled(format!(" {:<16}", "Schemas"), theme::COLUMN_HEADER);
    let spec = crate::registry::schema::SPEC_VERSION;
    let Some(problems) = &loaded.schema else {
        return vec![Line::from(vec![
            field,
            Span::styled("? ", theme::DIM),
            Span::raw("cannot be checked: a stored text is not JSON"),
        ])];
    };
    if problems.is_empty() {
        return vec![Line::from(vec![
            field,
            check(true),
            Span::raw(format!(
                "manifest and every item pass the ObjectStack {spec} schemas"
            )),
        ])];
    }
    let mut lines = vec![Line::from(vec![
        field,
        Span::styled("⚠ ", theme::WARNING),
        Span::raw(format!(
            "{} against the ObjectStack {spec} schemas (warnings: the server still loads it)",
            crate::tui::count(problems.len() as u64, "problem")
        )),
    ])];
    for p in problems {
        lines.push(Line::from(vec![
            Span::raw(format!(" {:<16}", "")),
            Span::styled("▲ ", theme::WARNING),
            Span::styled(printable(&p.path).into_owned(), theme::COLUMN_HEADER),
            Span::raw(format!(": {}", printable(&p.message))),
        ]));
    }
    lines
}

impl Component for DetailScreen {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&MOVE, &KEYS]
    }

    fn handle(&mut self, action: Action, page: usize) -> Outcome {
        let tab = self.current();
        // On a section tab the arrows move in the item list, or in the JSON once it has
        // the focus.
        let list_keys = matches!(tab, Tab::Section(_)) && !self.json_focus;
        match action {
            Action::NextTab => {
                self.tab = (self.tab.min(self.tab_count() - 1) + 1) % self.tab_count();
                self.json_focus = false;
                self.leave_view();
            }
            Action::PrevTab => {
                let tab = self.tab.min(self.tab_count() - 1);
                self.tab = (tab + self.tab_count() - 1) % self.tab_count();
                self.json_focus = false;
                self.leave_view();
            }
            Action::Open if list_keys && self.section().is_some_and(|s| s.selected().is_some()) => {
                self.json_focus = true;
            }
            Action::SearchNext | Action::SearchPrev => {
                let forward = action == Action::SearchNext;
                match self.search.as_mut().and_then(|s| s.step(forward)) {
                    Some(m) => self.reveal(m.line, page),
                    None if self.search.is_none() => {
                        return Outcome::Say(Message::info("no search: / starts one"))
                    }
                    None => {}
                }
            }
            Action::Verify => {
                return Outcome::Request(Request::verify(Scope::Version(
                    self.id.clone(),
                    self.version.clone(),
                )))
            }
            Action::Copy => return self.copy(),
            Action::CopyHash => {
                return match &self.content {
                    Some(c) => copy_hash(&self.id, &self.version, &c.loaded.record.hash),
                    None => Outcome::Done,
                }
            }
            Action::Hotfix | Action::EditOutside => {
                return Outcome::Request(Request::HotfixSource {
                    id: self.id.clone(),
                    version: self.version.clone(),
                    outside: action == Action::EditOutside,
                })
            }
            Action::Delete => {
                return Outcome::Request(Request::DeletePlan {
                    id: self.id.clone(),
                    version: Some(self.version.clone()),
                })
            }
            Action::Back if self.search.is_some() => self.leave_view(),
            Action::Back if self.json_focus => self.json_focus = false,
            Action::Back => {
                let cleared = self.section_mut().is_some_and(|s| s.list.clear_filter());
                return if cleared {
                    Outcome::Done
                } else {
                    Outcome::Back
                };
            }
            Action::Filter if self.view_lines().is_some() => self.search = Some(Search::start()),
            Action::Filter => {
                if let Some(s) = self.section_mut() {
                    s.list.start_filter();
                }
            }
            Action::Up | Action::Down | Action::Top | Action::Bottom if list_keys => {
                if let Some(s) = self.section_mut() {
                    s.list.apply(action, page);
                }
                self.leave_view();
            }
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown
            | Action::ScrollUp
            | Action::ScrollDown
                if matches!(tab, Tab::Section(_)) =>
            {
                let delta = match action {
                    Action::PageUp => -(page as isize),
                    Action::PageDown => page as isize,
                    Action::ScrollUp | Action::Up => -1,
                    Action::Top => isize::MIN / 2,
                    Action::Bottom => isize::MAX / 2,
                    _ => 1,
                };
                if let Some(s) = self.section_mut() {
                    s.scroll_by(delta, page);
                }
            }
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown
            | Action::ScrollUp
            | Action::ScrollDown => self.scroll_text(action, page),
            _ => {}
        }
        Outcome::Done
    }

    /// The search line takes the keys while its query is typed; else the item filter does.
    fn input(&mut self, event: &KeyEvent, page: usize) -> Option<Outcome> {
        if let Some(search) = self.search.as_mut().filter(|s| s.typing()) {
            match search.key(event) {
                Typed::Changed => self.search_again(page),
                Typed::Cancelled => self.leave_view(),
                Typed::Kept | Typed::Ignored => {}
            }
            return Some(Outcome::Done);
        }
        let list = self.list_mut().filter(|l| l.editing())?;
        list.filter_key(event, page);
        Some(Outcome::Done)
    }

    /// A click on a tab switches to it; on a section tab, a click on the JSON gives it the
    /// keys, and a click in the item list selects (a double click moves into the JSON).
    fn click(&mut self, x: u16, y: u16, double: bool, _page: usize) -> Outcome {
        let tab = self
            .tab_hits
            .borrow()
            .iter()
            .find(|(x0, x1, _)| (*x0..*x1).contains(&x))
            .map(|(_, _, tab)| *tab);
        let tabs_row = self.tab_hits.borrow().first().map(|_| self.tabs_row.get());
        if let (Some(tab), Some(row)) = (tab, tabs_row) {
            if y == row {
                if tab != self.tab.min(self.tab_count() - 1) {
                    self.tab = tab;
                    self.json_focus = false;
                    self.leave_view();
                }
                return Outcome::Done;
            }
        }
        if matches!(self.current(), Tab::Section(_)) {
            let json = self.json_area.get();
            if (json.x..json.right()).contains(&x) && (json.y..json.bottom()).contains(&y) {
                self.json_focus = true;
                return Outcome::Done;
            }
            let Some(list) = self.list_mut() else {
                return Outcome::Done;
            };
            if let Some(pos) = list.position_at(x, y) {
                list.select_position(pos);
                self.json_focus = double;
                self.leave_view();
            }
        }
        Outcome::Done
    }

    /// The wheel scrolls the text or the JSON; on an item list it moves the selection.
    fn wheel(&mut self, down: bool, page: usize) -> Outcome {
        let list_keys = matches!(self.current(), Tab::Section(_)) && !self.json_focus;
        let action = match (list_keys, down) {
            (true, true) => Action::Down,
            (true, false) => Action::Up,
            (false, true) => Action::ScrollDown,
            (false, false) => Action::ScrollUp,
        };
        self.handle(action, page)
    }

    fn typing_keys(&self) -> Option<&'static KeyGroup> {
        if self.search.as_ref().is_some_and(Search::typing) {
            return Some(&keys::SEARCH_EDIT);
        }
        self.list()
            .filter(|l| l.editing())
            .map(|_| &keys::FILTER_EDIT)
    }

    fn list_mut(&mut self) -> Option<&mut ListView> {
        self.section_mut().map(|s| &mut s.list)
    }

    fn list(&self) -> Option<&ListView> {
        self.section().map(|s| &s.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let [tabs_area, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let active = self.tab.min(self.tab_count() - 1);
        draw_tabs(frame, tabs_area, &self.tab_titles(), active, &self.tab_hits);
        self.tabs_row.set(tabs_area.y);
        let Some(content) = &self.content else {
            let text = Text::from(vec![
                Line::raw(""),
                placeholder(self.loading, self.error.as_deref(), ""),
            ]);
            frame.render_widget(
                Paragraph::new(text).centered().block(Block::bordered()),
                body,
            );
            return;
        };
        match self.current() {
            Tab::Manifest => self.draw_manifest(frame, body, content),
            Tab::Section(i) => self.draw_section(frame, body, content, &content.sections[i]),
            Tab::Integrity => self.draw_integrity(frame, body, content),
        }
    }
}
