//! The round-trip counter of the remote rows: a loopback HTTP/1.1 proxy in front of the
//! server that counts every request pkgdeck sends, whichever process sends it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A loopback HTTP/1.1 proxy that forwards every connection to `upstream` unchanged and counts
/// the requests it sees (keep-alive connections carry several).
pub struct CountingProxy {
    pub url: String,
    requests: Arc<AtomicU64>,
}

impl CountingProxy {
    /// Listens on a free loopback port and forwards to `upstream`, one thread a connection.
    pub fn start(upstream: SocketAddr) -> Result<CountingProxy, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _ = forward(client, upstream, &counter);
                });
            }
        });
        Ok(CountingProxy {
            url: format!("http://127.0.0.1:{port}"),
            requests,
        })
    }
    /// Requests seen so far.
    pub fn count(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
    /// Requests `f` makes through the proxy, and its result.
    pub fn counted<T>(&self, f: impl FnOnce() -> Result<T, String>) -> Result<(u64, T), String> {
        let before = self.count();
        let out = f()?;
        Ok((self.count() - before, out))
    }
}

/// Copies one client connection to `upstream` and back, counting each request it carries.
fn forward(client: TcpStream, upstream: SocketAddr, counter: &AtomicU64) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut back_from, mut back_to) = (server.try_clone()?, client.try_clone()?);
    let answers = std::thread::spawn(move || {
        let _ = std::io::copy(&mut back_from, &mut back_to);
        let _ = back_to.shutdown(std::net::Shutdown::Write);
    });
    let mut from = BufReader::new(client);
    let mut to = server;
    loop {
        // One request: its head, then a body of Content-Length bytes or chunks.
        let mut head = Vec::new();
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let start = head.len();
            if from.read_until(b'\n', &mut head)? == 0 {
                let _ = to.shutdown(std::net::Shutdown::Write);
                let _ = answers.join();
                return Ok(());
            }
            let line = String::from_utf8_lossy(&head[start..]).to_ascii_lowercase();
            if let Some(v) = line.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if line.starts_with("transfer-encoding:") && line.contains("chunked") {
                chunked = true;
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
        }
        counter.fetch_add(1, Ordering::SeqCst);
        to.write_all(&head)?;
        if chunked {
            loop {
                let mut size_line = Vec::new();
                from.read_until(b'\n', &mut size_line)?;
                to.write_all(&size_line)?;
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&size_line)
                        .trim()
                        .split(';')
                        .next()
                        .unwrap_or("0"),
                    16,
                )
                .unwrap_or(0);
                let mut chunk = vec![0u8; size + 2];
                from.read_exact(&mut chunk)?;
                to.write_all(&chunk)?;
                if size == 0 {
                    break;
                }
            }
        } else {
            let mut body = vec![0u8; length];
            from.read_exact(&mut body)?;
            to.write_all(&body)?;
        }
    }
}
