//! The configured store as the token engine uses it: while it fails, an
//! in-process store stands in (one warning per outage), the shared store
//! is tried again once a second, and what was written meanwhile is handed
//! to it (newer wins) when it answers again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Memory, Store, StoreError, Versioned};

/// How long to wait before trying a failed shared store again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// The configured store, with an in-process fallback while it fails.
pub(crate) struct Stores {
    pub(crate) primary: Arc<dyn Store>,
    fallback: Memory,
    /// When the shared store last failed; `None` while it answers.
    down_since: Mutex<Option<Instant>>,
    /// Keys written to the fallback during an outage, with when they
    /// expire: written to the shared store (newer wins) when it returns.
    unsynced: Mutex<HashMap<String, Instant>>,
}

impl Stores {
    pub(crate) fn new(primary: Arc<dyn Store>) -> Self {
        Self {
            primary,
            fallback: Memory::new(),
            down_since: Mutex::new(None),
            unsynced: Mutex::default(),
        }
    }

    /// False while the shared store is in its post-failure pause.
    fn available(&self) -> bool {
        match *self.down_since.lock().expect("store state") {
            Some(since) => since.elapsed() >= STORE_RETRY,
            None => true,
        }
    }

    fn failed(&self, err: &StoreError) {
        let mut down = self.down_since.lock().expect("store state");
        if down.is_none() {
            tracing::warn!(target: "corp_auth", store = ?self.primary, error = %err,
                "the shared store failed: using an in-process store until it answers again");
        }
        *down = Some(Instant::now());
    }

    /// The shared store answered. After an outage, hands it what was
    /// written meanwhile (newer wins there, as always) and returns true.
    async fn answered(&self) -> bool {
        if self.down_since.lock().expect("store state").take().is_none() {
            return false;
        }
        tracing::info!(target: "corp_auth", store = ?self.primary, "the shared store answers again");
        let pending: Vec<(String, Instant)> = self.unsynced.lock().expect("unsynced").drain().collect();
        for (key, deadline) in pending {
            let Some(ttl) = deadline.checked_duration_since(Instant::now()) else {
                continue;
            };
            if let Ok(Some(entry)) = self.fallback.get(&key).await
                && let Err(err) = self.primary.put_if_newer(&key, &entry, ttl).await
            {
                self.unsynced.lock().expect("unsynced").insert(key, deadline);
                self.failed(&err);
                break;
            }
        }
        true
    }

    pub(crate) async fn get(&self, key: &str) -> Option<Versioned> {
        if self.available() {
            match self.primary.get(key).await {
                // Just back: read again after the resync (it may have
                // written a newer value under this key).
                Ok(found) if self.answered().await => match self.primary.get(key).await {
                    Ok(again) => return again,
                    Err(_) => return found,
                },
                Ok(found) => return found,
                Err(err) => self.failed(&err),
            }
        }
        self.fallback.get(key).await.ok().flatten()
    }

    pub(crate) async fn put_if_newer(&self, key: &str, entry: &Versioned, ttl: Duration) -> bool {
        if self.available() {
            match self.primary.put_if_newer(key, entry, ttl).await {
                Ok(written) => {
                    self.answered().await;
                    return written;
                }
                Err(err) => self.failed(&err),
            }
        }
        self.unsynced
            .lock()
            .expect("unsynced")
            .insert(key.to_string(), Instant::now() + ttl);
        self.fallback.put_if_newer(key, entry, ttl).await.unwrap_or(false)
    }

    pub(crate) async fn delete_if(&self, key: &str, entry: &Versioned) {
        let _ = self.fallback.delete_if(key, entry).await;
        if self.available() {
            match self.primary.delete_if(key, entry).await {
                Ok(_) => {
                    self.answered().await;
                }
                Err(err) => self.failed(&err),
            }
        }
    }

    pub(crate) async fn try_lock(&self, key: &str, owner: &str, ttl: Duration) -> bool {
        if self.available() {
            match self.primary.try_lock(key, owner, ttl).await {
                Ok(taken) => {
                    self.answered().await;
                    return taken;
                }
                Err(err) => self.failed(&err),
            }
        }
        self.fallback.try_lock(key, owner, ttl).await.unwrap_or(true)
    }

    pub(crate) async fn unlock(&self, key: &str, owner: &str) {
        let _ = self.fallback.unlock(key, owner).await;
        if self.available()
            && let Err(err) = self.primary.unlock(key, owner).await
        {
            self.failed(&err);
        }
    }
}
