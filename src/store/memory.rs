//! [`Memory`]: the in-process store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Store, StoreFuture, Versioned};

/// An in-process store: shared by every clone (and every `Suite` given a
/// clone) in one process. The default store, and the fallback of a shared
/// store while it is unreachable.
#[derive(Clone, Default)]
pub struct Memory {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    values: HashMap<String, (Versioned, Instant)>,
    locks: HashMap<String, (String, Instant)>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.lock().expect("memory store lock");
        f.debug_struct("Memory")
            .field("values", &state.values.len())
            .field("locks", &state.locks.len())
            .finish()
    }
}

impl Memory {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State, Instant) -> T) -> T {
        let mut state = self.inner.lock().expect("memory store lock");
        f(&mut state, Instant::now())
    }
}

impl Store for Memory {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Versioned>> {
        let found = self.with(|s, now| match s.values.get(key) {
            Some((entry, deadline)) if *deadline > now => Some(entry.clone()),
            Some(_) => {
                s.values.remove(key);
                None
            }
            None => None,
        });
        Box::pin(async move { Ok(found) })
    }

    fn put_if_newer<'a>(&'a self, key: &'a str, entry: &'a Versioned, ttl: Duration) -> StoreFuture<'a, bool> {
        let written = self.with(|s, now| {
            if let Some((held, deadline)) = s.values.get(key)
                && *deadline > now
                && held.version >= entry.version
            {
                return false;
            }
            s.values.insert(key.to_string(), (entry.clone(), now + ttl));
            true
        });
        Box::pin(async move { Ok(written) })
    }

    fn delete_if<'a>(&'a self, key: &'a str, entry: &'a Versioned) -> StoreFuture<'a, bool> {
        let deleted = self.with(|s, _| match s.values.get(key) {
            Some((held, _)) if held == entry => s.values.remove(key).is_some(),
            _ => false,
        });
        Box::pin(async move { Ok(deleted) })
    }

    fn try_lock<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, bool> {
        let taken = self.with(|s, now| match s.locks.get(key) {
            Some((_, deadline)) if *deadline > now => false,
            _ => {
                s.locks.insert(key.to_string(), (owner.to_string(), now + ttl));
                true
            }
        });
        Box::pin(async move { Ok(taken) })
    }

    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> StoreFuture<'a, ()> {
        self.with(|s, _| {
            if s.locks.get(key).is_some_and(|(held, _)| held == owner) {
                s.locks.remove(key);
            }
        });
        Box::pin(async move { Ok(()) })
    }
}
