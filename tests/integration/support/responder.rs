//! A tiny scripted HTTP/1.1 server on loopback for the Hrana error paths: each request gets
//! a canned reply (an answer, a delay, a dropped connection, garbage bytes, an endless or huge
//! body, a body that drips a byte a second, a body cut short), or the reply a handler computes
//! from the request (see `sqld`, which plays sqld in front of a real tursodb). Every request it
//! read is recorded for the test to inspect, and so is every byte of body it sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// What the [`Responder`] does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// An HTTP answer.
    Status {
        status: u16,
        content_type: String,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// Waits, then does the inner reply (the client may have given up by then).
    Delay(Duration, Box<Reply>),
    /// Reads the request, then closes the connection without answering.
    Close,
    /// Raw bytes instead of an HTTP answer.
    Garbage(Vec<u8>),
    /// A 200 answer whose body is `prefix`, then `chunk` again and again until `total` bytes
    /// were sent, or without end (until the client goes away) when `total` is `None`. Its
    /// Content-Length is `declared`; without one the body runs to the end of the connection.
    Stream {
        declared: Option<u64>,
        prefix: Vec<u8>,
        chunk: Vec<u8>,
        total: Option<u64>,
    },
    /// A 200 answer that sends one byte every `every` and never ends: of the body (its
    /// Content-Length promises a megabyte), or, with `in_head`, of the status line itself.
    Drip { every: Duration, in_head: bool },
    /// A 200 answer whose Content-Length promises `declared` bytes, of which only `body` is
    /// sent before the connection closes.
    Cut { declared: usize, body: String },
}

/// The start of a valid pipeline answer that never gets to its end: what an endless body
/// looks like when it is made to pass for Hrana as long as possible.
const ENDLESS_PREFIX: &str = r#"{"baton":null,"base_url":null,"results":[{"type":"ok","response":{"type":"execute","result":{"cols":[{"name":"x","decltype":null}],"rows":["#;
const ENDLESS_ROW: &str = r#"[{"type":"text","value":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}],"#;

impl Reply {
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Status {
            status,
            content_type: "text/plain".into(),
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Status {
            status,
            content_type: "application/json".into(),
            body: body.to_string(),
            headers: Vec::new(),
        }
    }

    /// A valid pipeline answer with one `execute` result (one row, `1`), like tursodb's.
    pub fn hrana_ok() -> Reply {
        Reply::hrana_ok_with(None, None)
    }

    /// [`Reply::hrana_ok`] with a baton and a base URL, like sqld's.
    pub fn hrana_ok_with(baton: Option<&str>, base_url: Option<&str>) -> Reply {
        Reply::json(
            200,
            serde_json::json!({
                "baton": baton,
                "base_url": base_url,
                "results": [Reply::execute_one()]
            }),
        )
    }

    /// sqld's answer to a pipeline of one `execute` and a `close`: the row `1`, the stream
    /// closed.
    pub fn hrana_ok_closed() -> Reply {
        Reply::json(
            200,
            serde_json::json!({
                "baton": null,
                "base_url": null,
                "results": [Reply::execute_one(), {"type": "ok", "response": {"type": "close"}}]
            }),
        )
    }

    fn execute_one() -> serde_json::Value {
        serde_json::json!({"type": "ok", "response": {"type": "execute", "result": {
            "cols": [{"name": "1", "decltype": null}],
            "rows": [[{"type": "integer", "value": "1"}]],
            "affected_row_count": 0,
            "last_insert_rowid": null
        }}})
    }

    /// The answer to a pipeline holding one `close` request.
    pub fn hrana_closed() -> Reply {
        Reply::json(
            200,
            serde_json::json!({"baton": null, "base_url": null,
                               "results": [{"type": "ok", "response": {"type": "close"}}]}),
        )
    }

    pub fn delayed(self, by: Duration) -> Reply {
        Reply::Delay(by, Box::new(self))
    }

    /// An endless body that looks like a pipeline answer with ever more rows.
    pub fn endless() -> Reply {
        Reply::Stream {
            declared: None,
            prefix: ENDLESS_PREFIX.into(),
            chunk: ENDLESS_ROW.into(),
            total: None,
        }
    }

    /// A body that says it is `declared` bytes long and sends that many (or until the client
    /// goes away).
    pub fn huge(declared: u64) -> Reply {
        Reply::Stream {
            declared: Some(declared),
            prefix: ENDLESS_PREFIX.into(),
            chunk: ENDLESS_ROW.into(),
            total: Some(declared),
        }
    }

    /// A body sent one byte a second, forever.
    pub fn drip() -> Reply {
        Reply::Drip {
            every: Duration::from_secs(1),
            in_head: false,
        }
    }

    /// A pipeline answer cut off in the middle of its JSON, the connection closed early.
    pub fn cut() -> Reply {
        let full = r#"{"baton":null,"base_url":null,"results":[{"type":"ok","response":{"type":"execute","result":{"cols":[],"rows":[],"affected_row_count":0}}}]}"#;
        Reply::Cut {
            declared: full.len(),
            body: full[..full.len() / 2].to_owned(),
        }
    }
}

/// One request the [`Responder`] received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("request body is not JSON ({e}): {}", self.body))
    }
}

/// What a [`Responder`] computes a reply from: the request it read.
pub type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A tiny HTTP/1.1 server on 127.0.0.1:0 that answers with canned replies: request `i` gets
/// `replies[i]`, and every request after the last gets the last (or, with
/// [`Responder::with_handler`], what the handler makes of each request). Every answer closes
/// the connection. It records the requests it read and counts the body bytes it sent.
pub struct Responder {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    pub fn start(replies: Vec<Reply>) -> Responder {
        assert!(!replies.is_empty(), "a Responder needs at least one reply");
        let served = AtomicU64::new(0);
        Responder::with_handler(move |_| {
            let i = served.fetch_add(1, Ordering::SeqCst) as usize;
            replies[i.min(replies.len() - 1)].clone()
        })
    }

    /// A responder whose every reply is `handler`'s answer to the request.
    pub fn with_handler(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Responder {
        let handler: Arc<Handler> = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let requests = Arc::clone(&requests);
            let sent = Arc::clone(&sent);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let requests = Arc::clone(&requests);
                    let sent = Arc::clone(&sent);
                    let handler = Arc::clone(&handler);
                    let stop = Arc::clone(&stop);
                    thread::spawn(move || serve(conn, &*handler, &requests, &sent, &stop));
                }
            })
        };
        Responder {
            url: format!("http://127.0.0.1:{port}"),
            port,
            requests,
            sent,
            stop,
            thread: Some(thread),
        }
    }

    /// Body bytes written to clients so far (what an endless body got out before the client
    /// stopped reading).
    pub fn body_bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// The requests read so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut conn: TcpStream,
    handler: &Handler,
    requests: &Mutex<Vec<Recorded>>,
    sent: &AtomicU64,
    stop: &AtomicBool,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&conn) else {
        return;
    };
    let mut reply = handler(&request);
    requests.lock().unwrap().push(request);
    loop {
        match reply {
            Reply::Delay(by, inner) => {
                thread::sleep(by);
                reply = *inner;
            }
            Reply::Close => {
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Reply::Garbage(bytes) => {
                let _ = conn.write_all(&bytes);
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Reply::Stream {
                declared,
                prefix,
                chunk,
                total,
            } => {
                let mut head =
                    String::from("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
                if let Some(n) = declared {
                    head.push_str(&format!("Content-Length: {n}\r\n"));
                }
                head.push_str("Connection: close\r\n\r\n");
                if conn.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let total = total.unwrap_or(u64::MAX);
                let mut written = 0u64;
                let mut next: &[u8] = &prefix;
                // A big buffer of whole chunks, so that an endless body goes out fast.
                let many = chunk.repeat((256 * 1024 / chunk.len().max(1)).max(1));
                while written < total && !stop.load(Ordering::SeqCst) {
                    let n = next.len().min((total - written) as usize);
                    if conn.write_all(&next[..n]).is_err() {
                        break;
                    }
                    written += n as u64;
                    sent.fetch_add(n as u64, Ordering::SeqCst);
                    next = &many;
                }
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Reply::Drip { every, in_head } => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n";
                let (first, drip): (&[u8], &[u8]) = if in_head {
                    (b"", head.as_bytes())
                } else {
                    (head.as_bytes(), b"{\"baton\":null,\"results\":[")
                };
                if conn.write_all(first).is_err() {
                    return;
                }
                for byte in drip.iter().chain(std::iter::repeat(&b' ')) {
                    if stop.load(Ordering::SeqCst) || conn.write_all(&[*byte]).is_err() {
                        return;
                    }
                    sent.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(every);
                }
                return;
            }
            Reply::Cut { declared, body } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(body.as_bytes());
                sent.fetch_add(body.len() as u64, Ordering::SeqCst);
                let _ = conn.flush();
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Reply::Status {
                status,
                content_type,
                body,
                headers,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reason(status),
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(body.as_bytes());
                sent.fetch_add(body.len() as u64, Ordering::SeqCst);
                let _ = conn.flush();
                let _ = conn.shutdown(Shutdown::Write);
                // Let the client read everything before the socket goes away.
                let mut sink = [0u8; 256];
                let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
                while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
        }
    }
}

fn read_request(conn: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        429 => "Too Many Requests",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
