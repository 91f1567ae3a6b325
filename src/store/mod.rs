//! Where SQL runs. A [`Store`] executes statements against one registry database, local
//! (rusqlite) or remote (Hrana over HTTP); the registry above it never knows which.

pub mod hrana;
pub mod sqlite;
pub(crate) mod target;

use std::borrow::Cow;

pub use target::Target;

/// A value bound to, or read from, a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            Value::Real(f) => Some(*f as i64),
            Value::Text(s) => s.parse().ok(),
            _ => None,
        }
    }
    /// Text of a TEXT column; a NULL is `None`; other types are rendered as text.
    pub fn into_text(self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Text(s) => Some(s),
            Value::Integer(i) => Some(i.to_string()),
            Value::Real(f) => Some(f.to_string()),
            Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        }
    }
}

/// How much of the database a [`Store::scan`] goes through. A local store maps the file into
/// memory for a read of all of it (fewer copies; the pages it touches then count in the
/// process's resident memory) and reads page by page otherwise, so that memory stays flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Every row, or nearly (verify, the server's `list()`).
    Whole,
    /// A part spread across the file (the latest row of each package).
    Part,
}

/// A value of a row as the store holds it, borrowed rather than copied: what
/// [`Store::scan`] hands over, valid only for the row it belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    /// The bytes of a TEXT value (SQLite does not promise UTF-8).
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

impl<'a> ValueRef<'a> {
    /// As [`Value::as_i64`].
    pub fn as_i64(self) -> Option<i64> {
        match self {
            ValueRef::Integer(i) => Some(i),
            ValueRef::Real(f) => Some(f as i64),
            ValueRef::Text(t) => std::str::from_utf8(t).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// Exactly the text [`Value::into_text`] gives for the same value (invalid UTF-8 made
    /// lossy, a number rendered), borrowed whenever it can be.
    pub fn text(self) -> Option<Cow<'a, str>> {
        match self {
            ValueRef::Null => None,
            // from_utf8 first: its ASCII fast path is several times quicker than
            // from_utf8_lossy's on the JSON texts that make up a registry.
            ValueRef::Text(t) => Some(match std::str::from_utf8(t) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(t),
            }),
            ValueRef::Integer(i) => Some(Cow::Owned(i.to_string())),
            ValueRef::Real(f) => Some(Cow::Owned(f.to_string())),
            ValueRef::Blob(b) => Some(String::from_utf8_lossy(b)),
        }
    }

    /// An owned copy of this value; text is made valid UTF-8 as [`ValueRef::text`] does.
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(_) => Value::Text(self.text().unwrap_or_default().into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

impl Value {
    /// This value borrowed, as [`Store::scan`] hands values over.
    pub fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// Rows copied out of a borrowed [`Store::scan`] into one buffer, so that a reading thread
/// can hand them to another without an allocation per value; read back borrowed, as the
/// scan handed them over.
pub struct RowBatch {
    width: usize,
    bytes: Vec<u8>,
    cells: Vec<Cell>,
}

/// One value of a [`RowBatch`]: a number in place, a text or BLOB as its span of the buffer.
#[derive(Clone, Copy)]
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(usize, usize),
    Blob(usize, usize),
}

impl RowBatch {
    /// An empty batch of rows of `width` values, with room for `rows` of them holding `bytes`
    /// bytes of text and BLOBs.
    pub fn new(width: usize, rows: usize, bytes: usize) -> RowBatch {
        RowBatch {
            width,
            bytes: Vec::with_capacity(bytes),
            cells: Vec::with_capacity(width * rows),
        }
    }

    /// The bytes of text and BLOBs it holds.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Copies `row` in (its first `width` values; missing ones are NULL).
    pub fn push(&mut self, row: &[ValueRef<'_>]) {
        for i in 0..self.width {
            let mut span = |b: &[u8]| {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(b);
                (start, self.bytes.len())
            };
            let cell = match row.get(i).copied().unwrap_or(ValueRef::Null) {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(n) => Cell::Integer(n),
                ValueRef::Real(f) => Cell::Real(f),
                ValueRef::Text(t) => {
                    let (start, end) = span(t);
                    Cell::Text(start, end)
                }
                ValueRef::Blob(b) => {
                    let (start, end) = span(b);
                    Cell::Blob(start, end)
                }
            };
            self.cells.push(cell);
        }
    }

    /// Empties it, keeping its room.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.cells.clear();
    }

    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.cells.len() / self.width.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Row `i` into `out` (cleared first), borrowed from the batch.
    pub fn row<'a>(&'a self, i: usize, out: &mut Vec<ValueRef<'a>>) {
        out.clear();
        let cells = self.cells.get(i * self.width..(i + 1) * self.width);
        out.extend(cells.into_iter().flatten().map(|cell| match *cell {
            Cell::Null => ValueRef::Null,
            Cell::Integer(n) => ValueRef::Integer(n),
            Cell::Real(f) => ValueRef::Real(f),
            Cell::Text(start, end) => ValueRef::Text(&self.bytes[start..end]),
            Cell::Blob(start, end) => ValueRef::Blob(&self.bytes[start..end]),
        }));
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One SQL statement with positional (`?`) arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub sql: String,
    pub args: Vec<Value>,
}

impl Stmt {
    pub fn new(sql: impl Into<String>, args: Vec<Value>) -> Self {
        Stmt {
            sql: sql.into(),
            args,
        }
    }
}

/// The rows a statement returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Rows changed by an INSERT/UPDATE/DELETE.
    pub affected: u64,
}

/// What can go wrong where SQL runs. Every message names the target (masked) or file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open {target}: {reason}")]
    Open { target: String, reason: String },
    #[error("{target} is not an SQLite database")]
    NotSqlite { target: String },
    /// A database without the `sys_packages` table, opened by a command that does not create
    /// it (a read, or read-only mode).
    #[error("{target} has no sys_packages table")]
    MissingTable { target: String },
    /// A local file that does not exist, named by a command that does not create it.
    #[error("no registry at {target}")]
    NoRegistry { target: String },
    /// A local target that is a FIFO, a device, a socket or a directory: refused before it
    /// is opened.
    #[error("{target} is {kind}, not a registry file")]
    NotAFile { target: String, kind: &'static str },
    #[error("{target} refused the statement: {message}")]
    Sql { target: String, message: String },
    #[error("{target} is read-only: {action} refused")]
    ReadOnly { target: String, action: String },
    #[error("cannot reach {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("{target} did not answer within {seconds} s")]
    Timeout { target: String, seconds: u64 },
    /// A write was refused (HTTP 403) with a token that grants reads only.
    #[error("{target} refused the write: this token is read-only (HTTP 403); use a token that may write, or --read-only to only read")]
    TokenReadOnly { target: String },
    /// An answer is larger than the server sends (sqld's `--max-response-size`) or than
    /// pkgdeck reads (64 MiB).
    #[error("{target}: {reason}")]
    TooLarge { target: String, reason: String },
    #[error("{target} rejected the credentials (HTTP {status}): {hint}")]
    Auth {
        target: String,
        status: u16,
        hint: String,
    },
    #[error("{target} answered HTTP {status}: {message}")]
    Http {
        target: String,
        status: u16,
        message: String,
    },
    #[error("{target} sent an answer that is not valid Hrana: {reason}")]
    Protocol { target: String, reason: String },
    /// The TLS handshake failed: the certificate is untrusted, expired or for another host, or
    /// the server does not speak TLS.
    #[error("cannot connect securely to {target}: {reason}")]
    Tls { target: String, reason: String },
    /// The proxy cannot be reached or refused the tunnel.
    #[error("cannot reach {target} through the proxy {proxy}: {reason}")]
    Proxy {
        target: String,
        /// Shown with its credentials masked, and the variable that named it.
        proxy: String,
        reason: String,
    },
    #[error("{target}: {message}")]
    Other { target: String, message: String },
}

/// A database that holds a `sys_packages` table.
///
/// `batch` is the only way to write: its statements run in one transaction, all or nothing.
pub trait Store: Send {
    /// The target as it may be shown: any token masked.
    fn target(&self) -> &str;
    /// Whether writes are refused.
    fn read_only(&self) -> bool;
    /// Whether the database exists yet. A missing local file does not until the first write
    /// creates it (reads never create anything); a remote database always exists.
    fn exists(&self) -> bool {
        true
    }
    /// The proxy requests go through, credentials masked (`None`: directly, or a file).
    fn proxy(&self) -> Option<String> {
        None
    }
    /// The target as the audit log and the trash record it: masked like [`Store::target`],
    /// with a local file's path made absolute.
    fn audit_name(&self) -> String {
        self.target().to_owned()
    }
    /// Whether long reads should be split into pages (each page one round trip), so that the
    /// first rows arrive early and no response grows without bound. Local stores stream.
    fn pages(&self) -> bool {
        false
    }
    /// Network round trips made so far (0 for local stores).
    fn round_trips(&self) -> u64 {
        0
    }
    /// Runs one read statement and returns all its rows.
    fn query(&self, stmt: &Stmt) -> Result<Rows, StoreError>;
    /// Runs one read statement and hands each row to `each` as it arrives, without holding
    /// them all; `each` returns `false` to stop early.
    fn query_each(
        &self,
        stmt: &Stmt,
        each: &mut dyn FnMut(&[Value]) -> bool,
    ) -> Result<(), StoreError> {
        for row in self.query(stmt)?.rows {
            if !each(&row) {
                break;
            }
        }
        Ok(())
    }
    /// Runs one read that goes through much of the database in one pass (the ObjectStack
    /// server's `list()`, verify, the list), handing each row's values borrowed from the
    /// store's own buffers instead of copied (valid for that row only; `false` stops). A local
    /// store sorts in memory for it, and reads the file through a memory map when `span` is
    /// the whole file. Only how the engine reads and where it keeps its sort change, never
    /// what it answers or in which order.
    fn scan(
        &self,
        stmt: &Stmt,
        _span: Span,
        each: &mut dyn FnMut(&[ValueRef<'_>]) -> bool,
    ) -> Result<(), StoreError> {
        self.query_each(stmt, &mut |row| {
            let row_ref: Vec<ValueRef<'_>> = row.iter().map(Value::as_value_ref).collect();
            each(&row_ref)
        })
    }
    /// Another connection to the same database, read-only, for reading on another thread
    /// (verify splits the rows among several); `None` when the store cannot open one, and then
    /// the caller reads through this store alone.
    fn reader(&self) -> Option<Box<dyn Store>> {
        None
    }
    /// Runs several read statements and returns the rows of each, in order: one round trip on
    /// a remote store.
    fn query_many(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        stmts.iter().map(|stmt| self.query(stmt)).collect()
    }
    /// Runs one page of a paged read and hands each row to `each` (which returns `false` to
    /// stop early). `page(limit)` is the statement for the next page, at most `limit` rows
    /// (the caller pages by key); the store picks `limit`, at most `rows`, and returns it: a
    /// page with fewer rows than that was the last one.
    ///
    /// A remote store keeps every answer under the server's response limit: it sizes pages by
    /// the bytes of the rows it has seen, and when an answer is too large anyway it asks again
    /// for half as many rows. When a single row is too large the error names it, read from the
    /// `id` and `version` columns of the page statement. Local stores read `rows` rows.
    fn query_page(
        &self,
        rows: usize,
        page: &dyn Fn(usize) -> Stmt,
        each: &mut dyn FnMut(&[Value]) -> bool,
    ) -> Result<usize, StoreError> {
        self.query_each(&page(rows), each)?;
        Ok(rows)
    }
    /// Runs the statements in one transaction (BEGIN … COMMIT); if any fails nothing is
    /// written and the first failure is returned. One result per statement.
    fn batch(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError>;
    /// Runs the statements in one write transaction that is always rolled back, and returns
    /// what each returned: how the registry would look after a write, seen by the engine
    /// itself, with nothing written. One round trip on a remote store.
    fn rehearse(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError>;
}
