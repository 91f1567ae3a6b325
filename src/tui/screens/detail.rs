//! The Detail screen of one version: a tab for the manifest, one per metadata section (items
//! by name and label beside the selected item's coloured JSON) and one for integrity (stored
//! vs computed hash, identity and canonical-form checks, from `registry::verify_record`).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Tabs};
use ratatui::Frame;

use super::{draw_empty, draw_table, list_block, placeholder};
use crate::registry::canonical::JsValue;
use crate::registry::diff::{section_items, section_names};
use crate::registry::LoadedRecord;
use crate::registry::{Problem, Scope, Verification, Warning, SECTIONS};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::integrity::{Badge, Verdict};
use crate::tui::json;
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::protocol::{JobError, Request};
use crate::tui::theme;
use crate::untrusted::printable;
use crossterm::event::KeyCode;

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
        Binding {
            keys: &[Key::Char('/')],
            shown: "/",
            does: "filter the items of a section tab",
            hint: None,
            action: Action::Filter,
        },
        Binding {
            keys: &[Key::Char('v')],
            shown: "v",
            does: "verify this version",
            hint: Some("v verify"),
            action: Action::Verify,
        },
        keys::HOTFIX,
        keys::DELETE,
        keys::BACK,
    ],
};

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
                self.content = Some(Box::new(Content::new(*loaded)));
                self.tab = self.tab.min(self.tab_count() - 1);
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

    fn tab_titles(&self) -> Vec<Line<'static>> {
        let mut titles = vec![Line::raw(" Manifest ")];
        match &self.content {
            Some(c) => titles.extend(c.sections.iter().map(|s| {
                Line::raw(format!(
                    " {} ({}) ",
                    printable(&capitalized(&s.name)),
                    s.items.len()
                ))
            })),
            None => titles.extend(
                SECTIONS
                    .iter()
                    .map(|s| Line::raw(format!(" {} ", capitalized(s)))),
            ),
        }
        titles.push(Line::raw(" Integrity "));
        titles
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
        let inner = block.inner(area);
        frame.render_widget(block, area);
        draw_lines(frame, inner, &content.manifest, self.manifest_scroll);
    }

    fn draw_section(&self, frame: &mut Frame, area: Rect, content: &Content, s: &Section) {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(30), Constraint::Percentage(70)])
                .areas(area);
        let block = list_block(
            format!("{} ({})", printable(&capitalized(&s.name)), s.items.len()),
            None,
            &s.list,
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
            let widths = [Constraint::Fill(1), Constraint::Fill(1)];
            let header = Row::new(["NAME", "LABEL"]);
            draw_table(frame, inner, &s.list, header, &widths, |r| {
                let item = &s.items[r];
                Row::new(vec![
                    Cell::from(printable(&item.name).into_owned()),
                    Cell::from(printable(item.label.as_deref().unwrap_or("")).into_owned()),
                ])
            });
        }
        let Some((_, item)) = s.selected() else {
            frame.render_widget(Block::bordered(), right);
            return;
        };
        let scroll = s.scroll();
        let block = Block::bordered()
            .title(Line::styled(
                format!(" {} ", printable(&item.name)),
                theme::TITLE,
            ))
            .title(
                Line::styled(
                    format!(" line {} of {} ", scroll + 1, item.lines.len()),
                    theme::DIM,
                )
                .right_aligned(),
            );
        let inner = block.inner(right);
        frame.render_widget(block, right);
        draw_lines(frame, inner, &item.lines, scroll);
    }

    fn draw_integrity(&self, frame: &mut Frame, area: Rect, content: &Content) {
        let block = Block::bordered().title(Line::styled(" integrity ", theme::TITLE));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        draw_lines(frame, inner, &content.integrity, self.integrity_scroll);
    }
}

/// Draws the lines from `scroll` on, cloning only those that fit.
fn draw_lines(frame: &mut Frame, area: Rect, lines: &[Line<'static>], scroll: usize) {
    let start = scroll.min(lines.len().saturating_sub(area.height as usize));
    let end = (start + area.height as usize).min(lines.len());
    frame.render_widget(Paragraph::new(Text::from(lines[start..end].to_vec())), area);
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
        match action {
            Action::NextTab => self.tab = (self.tab + 1) % self.tab_count(),
            Action::PrevTab => self.tab = (self.tab + self.tab_count() - 1) % self.tab_count(),
            Action::Verify => {
                return Outcome::Request(Request::verify(Scope::Version(
                    self.id.clone(),
                    self.version.clone(),
                )))
            }
            Action::Hotfix => {
                return Outcome::Request(Request::HotfixSource {
                    id: self.id.clone(),
                    version: self.version.clone(),
                })
            }
            Action::Delete => {
                return Outcome::Request(Request::DeletePlan {
                    id: self.id.clone(),
                    version: Some(self.version.clone()),
                })
            }
            Action::Back => {
                let cleared = self.section_mut().is_some_and(|s| s.list.clear_filter());
                return if cleared {
                    Outcome::Done
                } else {
                    Outcome::Back
                };
            }
            Action::Filter => {
                if let Some(s) = self.section_mut() {
                    s.list.start_filter();
                }
            }
            Action::PageUp | Action::PageDown | Action::ScrollUp | Action::ScrollDown
                if matches!(tab, Tab::Section(_)) =>
            {
                let delta = match action {
                    Action::PageUp => -(page as isize),
                    Action::PageDown => page as isize,
                    Action::ScrollUp => -1,
                    _ => 1,
                };
                if let Some(s) = self.section_mut() {
                    s.scroll_by(delta, page);
                }
            }
            Action::Up | Action::Down | Action::Top | Action::Bottom
                if matches!(tab, Tab::Section(_)) =>
            {
                if let Some(s) = self.section_mut() {
                    s.list.apply(action, page);
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

    fn list_mut(&mut self) -> Option<&mut ListView> {
        self.section_mut().map(|s| &mut s.list)
    }

    fn list(&self) -> Option<&ListView> {
        self.section().map(|s| &s.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let [tabs_area, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        frame.render_widget(
            Tabs::new(self.tab_titles())
                .select(self.tab)
                .style(theme::TAB)
                .highlight_style(theme::TAB_SELECTED)
                .divider("│")
                .padding("", ""),
            tabs_area,
        );
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
