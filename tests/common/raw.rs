//! A raw HTTP/1.1 server on loopback for byte-level faults: it reads each
//! request head (and body, by Content-Length), counts it, then answers as
//! the test scripts, byte for byte.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does once it has read a request.
#[derive(Clone)]
pub enum Reply {
    /// Reads the request, then never answers (holds the connection).
    Silent,
    /// Writes these bytes, then closes the connection.
    Bytes(Vec<u8>),
    /// Writes these bytes and keeps the connection for the next request.
    KeepAlive(Vec<u8>),
    /// Writes the head, then `total` zero bytes in 64 KiB writes (until the
    /// client hangs up), with or without a Content-Length.
    Huge { total: u64, declare_length: bool },
    /// A chunked body that never ends.
    Endless,
    /// Writes the head, then one byte of body every `every`.
    Drip { every: Duration },
}

pub struct RawServer {
    pub url: String,
    accepted: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl RawServer {
    /// Starts a server giving `reply(n)` to the n-th request (from 0).
    pub async fn start(reply: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (a, r, reply) = (accepted.clone(), requests.clone(), Arc::new(reply));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                let (r, reply) = (r.clone(), reply.clone());
                tokio::spawn(serve(socket, r, reply));
            }
        });
        Self {
            url,
            accepted,
            requests,
        }
    }

    /// Requests fully read so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A complete response with this status, headers and body.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Reply::Bytes(bytes)
}

/// A complete JSON response on a connection that stays open.
pub fn keep_alive_json(body: &str) -> Reply {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    Reply::KeepAlive([head.as_bytes(), body.as_bytes()].concat())
}

pub fn json(status: &str, body: &str) -> Reply {
    response(status, &[("content-type", "application/json")], body.as_bytes())
}

async fn serve(mut socket: TcpStream, requests: Arc<AtomicUsize>, reply: Arc<impl Fn(usize) -> Reply>) {
    loop {
        if !read_request(&mut socket).await {
            return;
        }
        let n = requests.fetch_add(1, Ordering::SeqCst);
        let keep_alive = answer(&mut socket, reply(n)).await;
        if !keep_alive {
            return;
        }
    }
}

/// Reads one request; false when the client went away first.
async fn read_request(socket: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => have += n,
        }
    }
    true
}

/// Answers; true when the connection may serve another request.
async fn answer(socket: &mut TcpStream, reply: Reply) -> bool {
    match reply {
        Reply::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            false
        }
        Reply::KeepAlive(bytes) => socket.write_all(&bytes).await.is_ok(),
        Reply::Bytes(bytes) => {
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
            false
        }
        Reply::Huge { total, declare_length } => {
            let head = if declare_length {
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {total}\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_string()
            };
            if socket.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            let block = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < total {
                if socket.write_all(&block).await.is_err() {
                    return false;
                }
                sent += block.len() as u64;
            }
            false
        }
        Reply::Endless => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            false
        }
        Reply::Drip { every } => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            loop {
                tokio::time::sleep(every).await;
                if socket.write_all(b" ").await.is_err() {
                    return false;
                }
            }
        }
    }
}
