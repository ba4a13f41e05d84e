//! What only this instance knows about its own `auth_code` claims: which
//! codes a task here is exchanging right now, and which it sent and lost
//! track of.

use std::collections::HashMap;

/// This instance's own claims, as only it can know them. A `sending` claim
/// in the database whose owner is this instance, and that no task here
/// holds, was never sent (the claim committed but its answer was lost, or
/// its release after "WeCom did not act" failed): it is taken over, not
/// reported in doubt. One whose request may have left (the task stopped
/// before recording the answer) is remembered as abandoned and never sent
/// again from here.
#[derive(Default)]
pub(super) struct LocalClaims(std::sync::Mutex<HashMap<String, Local>>);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Local {
    /// A task here holds it and has sent nothing yet.
    Claiming,
    /// A task here holds it and the request may have left.
    Sending,
    /// A task here sent it and stopped before recording the answer.
    Abandoned,
}

/// A task's hold on one code; released on drop (abandoned if the request
/// may have left and no answer was recorded).
pub(super) struct Held<'a> {
    claims: &'a LocalClaims,
    hash: String,
    state: Local,
    pub(super) resolved: bool,
}

pub(super) enum Hold<'a> {
    Held(Held<'a>),
    Busy,
    Abandoned,
}

impl LocalClaims {
    pub(super) fn hold(&self, hash: &str) -> Hold<'_> {
        let mut map = self.0.lock().expect("local claims");
        match map.get(hash) {
            Some(Local::Abandoned) => Hold::Abandoned,
            Some(_) => Hold::Busy,
            None => {
                map.insert(hash.to_string(), Local::Claiming);
                Hold::Held(Held {
                    claims: self,
                    hash: hash.to_string(),
                    state: Local::Claiming,
                    resolved: false,
                })
            }
        }
    }
}

impl Held<'_> {
    pub(super) fn set(&mut self, state: Local) {
        self.state = state;
        self.claims
            .0
            .lock()
            .expect("local claims")
            .insert(self.hash.clone(), state);
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut map = self.claims.0.lock().expect("local claims");
        if self.state == Local::Sending && !self.resolved {
            map.insert(std::mem::take(&mut self.hash), Local::Abandoned);
        } else {
            map.remove(&self.hash);
        }
    }
}
