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

/// The failpoint: the pattern, and whether new connections are refused
/// too once it fires.
type Trigger = Arc<std::sync::Mutex<Option<(Vec<u8>, bool)>>>;

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
    /// Connections refused so far.
    refused: Arc<std::sync::atomic::AtomicUsize>,
    /// Bumped on every silence: connections born before go silent.
    silences: Arc<AtomicU8>,
    /// Bumped when answers are lost: connections born before still carry
    /// statements to the server, but no answer back.
    deafs: Arc<AtomicU8>,
    /// A failpoint: the first statement whose bytes hold this pattern runs,
    /// and from then on the answers of open connections are lost.
    trigger: Trigger,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for PgProxy {
    /// Every connection through the proxy is closed (a silent one would
    /// otherwise hold a server backend for good).
    fn drop(&mut self) {
        self.down.store(true, Ordering::SeqCst);
        self.cuts.fetch_add(1, Ordering::SeqCst);
        self.accept.abort();
    }
}

impl PgProxy {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::<AtomicBool>::default();
        let (cuts, silences, deafs) = (
            Arc::<AtomicU8>::default(),
            Arc::<AtomicU8>::default(),
            Arc::<AtomicU8>::default(),
        );
        let trigger = Trigger::default();
        let refused = Arc::<std::sync::atomic::AtomicUsize>::default();
        let proxy = |accept| Self {
            port,
            refused: refused.clone(),
            down: down.clone(),
            cuts: cuts.clone(),
            silences: silences.clone(),
            deafs: deafs.clone(),
            trigger: trigger.clone(),
            accept,
        };
        let (down2, cuts2, silences2, deafs2, trigger2) = (
            down.clone(),
            cuts.clone(),
            silences.clone(),
            deafs.clone(),
            trigger.clone(),
        );
        let refused2 = refused.clone();
        let accept = tokio::spawn(async move {
            let (down, cuts, silences, deafs, trigger) = (down2, cuts2, silences2, deafs2, trigger2);
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if down.load(Ordering::SeqCst) {
                    refused2.fetch_add(1, Ordering::SeqCst);
                    drop(client); // refused: closed at once
                    continue;
                }
                let born = (cuts.load(Ordering::SeqCst), silences.load(Ordering::SeqCst));
                let deaf_born = deafs.load(Ordering::SeqCst);
                let (cuts, silences, deafs, trigger) = (cuts.clone(), silences.clone(), deafs.clone(), trigger.clone());
                let down = down.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect("127.0.0.1:5432").await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    // Statements: silenced by a silence. Answers: by a
                    // silence or a loss of answers.
                    let a = tokio::spawn(forward(
                        cr,
                        sw,
                        born,
                        cuts.clone(),
                        silences.clone(),
                        Direction::Statements(trigger, deafs.clone(), down),
                    ));
                    let b = tokio::spawn(forward(
                        sr,
                        cw,
                        born,
                        cuts,
                        silences,
                        Direction::Answers(deaf_born, deafs),
                    ));
                    let _ = tokio::join!(a, b);
                });
            }
        });
        proxy(accept)
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

    /// Open connections still carry statements to the server, which runs
    /// them, but its answers are lost (a one-way NAT drop): the client
    /// cannot tell whether a statement committed. New connections work.
    pub fn lose_answers_of_open_connections(&self) {
        self.deafs.fetch_add(1, Ordering::SeqCst);
    }

    /// A failpoint: the first statement sent through the proxy whose bytes
    /// contain `pattern` (a parameter's value) reaches the server and runs,
    /// and the answers of every open connection are lost from then on.
    pub fn lose_answers_from_statement_with(&self, pattern: &[u8]) {
        *self.trigger.lock().unwrap() = Some((pattern.to_vec(), false));
    }

    /// The same failpoint, and new connections are refused from then on
    /// too (until [`restore`](Self::restore)): nothing the client tries
    /// next reaches the database.
    pub fn lose_answers_and_refuse_from_statement_with(&self, pattern: &[u8]) {
        *self.trigger.lock().unwrap() = Some((pattern.to_vec(), true));
    }

    /// How many connections were refused (while cut) so far.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// New connections are accepted again.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// Which way a forwarding task carries bytes.
enum Direction {
    /// Client to server, with the failpoint's pattern.
    Statements(Trigger, Arc<AtomicU8>, Arc<AtomicBool>),
    /// Server to client: lost once the counter moves past its value at birth.
    Answers(u8, Arc<AtomicU8>),
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    born: (u8, u8),
    cuts: Arc<AtomicU8>,
    silences: Arc<AtomicU8>,
    direction: Direction,
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
        match &direction {
            Direction::Answers(born, now) if now.load(Ordering::SeqCst) != *born => {
                continue; // an answer lost on the way back
            }
            Direction::Statements(trigger, deafs, down) => {
                let mut armed = trigger.lock().unwrap();
                let hit = armed
                    .as_ref()
                    .is_some_and(|(p, _)| buf[..n].windows(p.len()).any(|w| w == p.as_slice()));
                if hit {
                    let (_, refuse) = armed.take().unwrap();
                    deafs.fetch_add(1, Ordering::SeqCst); // before the server can answer
                    if refuse {
                        down.store(true, Ordering::SeqCst);
                    }
                }
            }
            Direction::Answers(..) => {}
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
