//! A tiny scripted HTTP/1.1 server on loopback for the Hrana error paths: each request gets
//! a canned reply (an answer, a delay, a dropped connection or garbage bytes), and every
//! request it read is recorded for the test to inspect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
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
}

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
                "results": [{"type": "ok", "response": {"type": "execute", "result": {
                    "cols": [{"name": "1", "decltype": null}],
                    "rows": [[{"type": "integer", "value": "1"}]],
                    "affected_row_count": 0,
                    "last_insert_rowid": null
                }}}]
            }),
        )
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

/// A tiny HTTP/1.1 server on 127.0.0.1:0 that answers with canned replies: request `i` gets
/// `replies[i]`, and every request after the last gets the last. Every answer closes the
/// connection. It records the requests it read.
pub struct Responder {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    pub fn start(replies: Vec<Reply>) -> Responder {
        assert!(!replies.is_empty(), "a Responder needs at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut served = 0usize;
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let reply = replies[served.min(replies.len() - 1)].clone();
                    served += 1;
                    let requests = Arc::clone(&requests);
                    thread::spawn(move || serve(conn, reply, &requests));
                }
            })
        };
        Responder {
            url: format!("http://127.0.0.1:{port}"),
            port,
            requests,
            stop,
            thread: Some(thread),
        }
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

fn serve(mut conn: TcpStream, reply: Reply, requests: &Mutex<Vec<Recorded>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&conn) else {
        return;
    };
    requests.lock().unwrap().push(request);
    let mut reply = reply;
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
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
