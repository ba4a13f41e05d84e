//! PostgreSQL for the install tests: a database of the test's own (dropped
//! at the end) on 127.0.0.1:5432, and a TCP proxy in front of it that a
//! test can cut (connections refused and dropped: a failover) or silence
//! (connections kept open, nothing forwarded: a half-open connection).
#![allow(dead_code)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A database of this test's own, dropped at the end.
pub struct TestDb {
    pub name: String,
}

pub fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-Atc", sql])
        .output()
        .expect("psql on PATH");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl TestDb {
    pub fn new(tag: &str) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("corp_auth_{tag}_{}_{nanos}", std::process::id());
        psql("postgres", &format!("CREATE DATABASE {name}"));
        Self { name }
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// The URL through `proxy`.
    pub fn url_via(&self, proxy: &PgProxy) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{}", proxy.port, self.name)
    }

    pub fn sql(&self, sql: &str) -> String {
        psql(&self.name, sql)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc"])
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .output();
    }
}

/// A TCP proxy to 127.0.0.1:5432.
pub struct PgProxy {
    pub port: u16,
    /// New connections are refused while set.
    down: Arc<AtomicBool>,
    /// Bumped on every cut: connections born before die.
    cuts: Arc<AtomicU8>,
    /// Bumped on every silence: connections born before go silent.
    silences: Arc<AtomicU8>,
}

impl PgProxy {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Self {
            port,
            down: Arc::default(),
            cuts: Arc::default(),
            silences: Arc::default(),
        };
        let (down, cuts, silences) = (proxy.down.clone(), proxy.cuts.clone(), proxy.silences.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if down.load(Ordering::SeqCst) {
                    drop(client); // refused: closed at once
                    continue;
                }
                let born = (cuts.load(Ordering::SeqCst), silences.load(Ordering::SeqCst));
                let (cuts, silences) = (cuts.clone(), silences.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect("127.0.0.1:5432").await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let a = tokio::spawn(forward(cr, sw, born, cuts.clone(), silences.clone()));
                    let b = tokio::spawn(forward(sr, cw, born, cuts, silences));
                    let _ = tokio::join!(a, b);
                });
            }
        });
        proxy
    }

    /// A failover: open connections are dropped, new ones refused until
    /// [`restore`](Self::restore).
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cuts.fetch_add(1, Ordering::SeqCst);
    }

    /// Open connections stop forwarding and stay open (a NAT dropped the
    /// flow: no FIN, no RST); new connections work.
    pub fn silence_open_connections(&self) {
        self.silences.fetch_add(1, Ordering::SeqCst);
    }

    /// New connections are accepted again.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    born: (u8, u8),
    cuts: Arc<AtomicU8>,
    silences: Arc<AtomicU8>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // A tick every 100 ms re-checks for a cut even when nothing flows.
        let read = tokio::time::timeout(Duration::from_millis(100), from.read(&mut buf)).await;
        if cuts.load(Ordering::SeqCst) != born.0 {
            return; // cut: both halves drop, the peer sees the close
        }
        let n = match read {
            Err(_) => continue,
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => n,
        };
        if silences.load(Ordering::SeqCst) != born.1 {
            continue; // swallowed: the peer waits for an answer forever
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
