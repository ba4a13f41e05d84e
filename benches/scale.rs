//! Thousands of corps: 10,000 corps' tokens on 4 `Suite` values sharing
//! one Redis, against a stand-in WeCom on loopback.
//!
//! Reports: fetches per token lifetime (goal: exactly one per corp, however
//! many instances ask at once), store round trips per warm call (goal: 0),
//! memory per corp and instance (bytes the allocator holds after warming,
//! over the baseline), and the time to warm all 10,000.
//!
//! `cargo bench --bench scale` (Redis on 127.0.0.1:6379, or `REDIS_URL`);
//! `SCALE_CORPS=N` for another size.

mod common;
#[path = "../tests/common/standin.rs"]
mod standin;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use corp_auth::store::{Redis, Store, StoreFuture, Versioned};
use corp_auth::wecom::{self, Suite};
use standin::StandIn;

/// Counts the bytes the program holds: allocations minus frees.
struct Counting;

static HELD: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A store that counts its round trips, around the real Redis store.
#[derive(Debug)]
struct Counted {
    inner: Redis,
    trips: Arc<AtomicU64>,
}

impl Store for Counted {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Versioned>> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.get(key)
    }
    fn put_if_newer<'a>(&'a self, key: &'a str, entry: &'a Versioned, ttl: Duration) -> StoreFuture<'a, bool> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.put_if_newer(key, entry, ttl)
    }
    fn delete_if<'a>(&'a self, key: &'a str, entry: &'a Versioned) -> StoreFuture<'a, bool> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.delete_if(key, entry)
    }
    fn try_lock<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.try_lock(key, owner, ttl)
    }
    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner.unlock(key, owner)
    }
}

const CODE: &str = "permanent-code-0123456789abcdef";

fn main() {
    let corps: usize = std::env::var("SCALE_CORPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(corps));
}

async fn run(corps: usize) {
    println!(
        "thousands of corps on {} (loopback stand-in, local Redis)",
        common::machine()
    );
    let standin = StandIn::start().await;
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_string());
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let prefix = format!("corp-auth-bench:scale:{nanos}");
    let trips = Arc::new(AtomicU64::new(0));
    let client = wecom::Client::builder()
        .base_url(&standin.url)
        .max_concurrent_requests(64)
        .build()
        .unwrap();
    let names: Arc<Vec<String>> = Arc::new((0..corps).map(|i| format!("wwcorp{i:05}")).collect());

    let before = HELD.load(Ordering::Relaxed);
    let suites: Vec<Suite> = (0..4)
        .map(|_| {
            Suite::builder("wwsuitescale", "suite-secret")
                .client(client.clone())
                .store(Counted {
                    inner: Redis::open(&url).unwrap().prefix(prefix.clone()),
                    trips: trips.clone(),
                })
                .build()
                .unwrap()
        })
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    suites[0].set_suite_ticket("ticket", now).await.unwrap();
    suites[0].suite_access_token().await.unwrap();
    let base = HELD.load(Ordering::Relaxed);

    // Warm: every corp asked by all 4 instances at once, 256 corps in flight.
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(256));
    let mut tasks = Vec::with_capacity(corps);
    for i in 0..corps {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let (suites, names) = (suites.clone(), names.clone());
        tasks.push(tokio::spawn(async move {
            let asks: Vec<_> = suites.iter().map(|s| s.corp_access_token(&names[i], CODE)).collect();
            let tokens = futures_join(asks).await;
            drop(permit);
            assert!(
                tokens.windows(2).all(|w| w[0] == w[1]),
                "one token per corp on every instance"
            );
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let warm_time = started.elapsed();
    let fetches = standin.with(|s| s.corp_token_calls);
    let held = HELD.load(Ordering::Relaxed);

    // Warm calls: every instance asks for every corp again.
    let trips_before = trips.load(Ordering::Relaxed);
    let started = Instant::now();
    for suite in &suites {
        for name in names.iter() {
            suite.corp_access_token(name, CODE).await.unwrap();
        }
    }
    let warm_calls = (4 * corps) as f64;
    let per_warm_call = started.elapsed().as_secs_f64() / warm_calls;
    let warm_trips = trips.load(Ordering::Relaxed) - trips_before;
    let fetches_after = standin.with(|s| s.corp_token_calls);

    println!("corps: {corps}, instances: 4, one Redis (prefix {prefix})");
    println!(
        "warm all: {:.2} s ({:.0} corps/s); corp-token fetches: {fetches} = {:.3} per corp (goal 1)",
        warm_time.as_secs_f64(),
        corps as f64 / warm_time.as_secs_f64(),
        fetches as f64 / corps as f64
    );
    println!(
        "warm calls: {warm_calls} in {:.0} ns each; store round trips: {warm_trips} = {:.4} per warm call (goal 0); fetches during them: {}",
        per_warm_call * 1e9,
        warm_trips as f64 / warm_calls,
        fetches_after - fetches
    );
    println!(
        "memory: {:.0} bytes per corp and instance ({:.1} MiB for {corps} corps on 4 instances; {} bytes before the first corp)",
        (held - base) as f64 / (4 * corps) as f64,
        (held - base) as f64 / (1 << 20) as f64,
        base - before
    );
}

/// Joins the futures of one corp's four asks.
async fn futures_join<F: Future<Output = Result<corp_auth::Secret, corp_auth::Error>>>(asks: Vec<F>) -> Vec<String> {
    let mut out = Vec::with_capacity(asks.len());
    let mut pinned: Vec<_> = asks.into_iter().map(Box::pin).collect();
    // Poll all four concurrently: each resolves through the single flight.
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out.len() <= i {
                out.push(None);
            }
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => out[i] = Some(r.unwrap().expose_secret().to_string()),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(out.drain(..).map(Option::unwrap).collect::<Vec<_>>())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}
