//! Exchanging an `auth_code` once across every instance: install states,
//! the redirect, claims with owners, completion, and exchanges in doubt.

use std::time::{Duration, SystemTime};

use super::local::{Hold, Local};
use super::record::{claim_id, detail, doubt_detail, kind};

use super::*;

impl Installs {
    /// Creates a single-use install `state` (the CSRF defence of the
    /// redirect) in the database, so WeCom's redirect may land on any
    /// instance; it expires with the pre-auth code (20 minutes).
    pub async fn new_state(&self) -> Result<String, Error> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| Error::Registry {
            reason: format!("the system random source failed: {e}"),
        })?;
        let state: String = random
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        let validity = STATE_VALIDITY.as_secs_f64();
        self.inner
            .db
            .query(
                "issuing an install state",
                "WITH gone AS (DELETE FROM corp_auth_states WHERE expires_at < now()) \
                 INSERT INTO corp_auth_states (state, suite_id, expires_at) \
                 VALUES ($1, $2, now() + $3 * interval '1 second')",
                &[&state, &self.suite_id(), &validity],
            )
            .await?;
        Ok(state)
    }

    /// The install redirect (`redirect_uri?auth_code=…&state=…`): checks that
    /// `state` was issued by [`new_state`](Installs::new_state) (on any
    /// instance), unused and unexpired, consumes it, then exchanges
    /// `auth_code` exactly once across every instance.
    pub async fn redeem(&self, state: &str, auth_code: &str) -> Result<Outcome, Error> {
        let used = self
            .inner
            .db
            .query(
                "checking the install state",
                "DELETE FROM corp_auth_states WHERE state = $1 AND suite_id = $2 AND expires_at > now() RETURNING 1",
                &[&state, &self.suite_id()],
            )
            .await?;
        if used.is_empty() {
            return Err(Error::InvalidInput {
                parameter: "state",
                rule: "was not issued by new_state, or is used or expired: refuse the redirect (a forged or replayed \
                       install link)"
                    .into(),
            });
        }
        self.exchange(auth_code, "redirect", false, None, None).await
    }

    /// Exchanges `auth_code` for the permanent code at most once across all
    /// instances: the claim (with its owner) is committed before the request
    /// leaves. `as_of` is the event's `TimeStamp` (`None`: a redirect, as of
    /// its completion); `held_event` the callback whose lease this runs under.
    pub(super) async fn exchange(
        &self,
        auth_code: &str,
        source: &str,
        reset: bool,
        as_of: Option<i64>,
        held_event: Option<i64>,
    ) -> Result<Outcome, Error> {
        let db = &self.inner.db;
        let hash = sha256_hex(auth_code.as_bytes());
        let life_ms = self.inner.claim_life.as_millis() as f64;
        // The suite token first: a failed fetch (no ticket yet, the token
        // endpoint down, another instance's refresh lock) costs no claim and
        // is never mistaken for a spent code.
        self.inner.suite.suite_access_token().await?;
        // One task per code in this process; the others wait for it.
        let give_up = tokio::time::Instant::now() + self.inner.claim_life;
        let mut held = loop {
            match self.inner.local.hold(&hash) {
                Hold::Held(held) => break held,
                Hold::Busy if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Hold::Busy => {
                    return Err(Error::Registry {
                        reason: "this instance is exchanging this auth_code and has not finished".into(),
                    });
                }
                // Sent from here, answer unrecorded: never sent again.
                Hold::Abandoned => {
                    return match self.existing_claim(&hash).await? {
                        Some(outcome) => Ok(outcome),
                        None => {
                            self.mark_in_doubt(&hash, source, "this instance sent it and lost track of the answer")
                                .await
                        }
                    };
                }
            }
        };
        loop {
            self.ensure_owned(held_event).await?;
            // A `sending` claim of this instance's own that no task here
            // holds was never sent: taken over (see `LocalClaims`).
            let claimed = match db
                .query(
                    "claiming the auth_code",
                    "INSERT INTO corp_auth_exchanges (code_hash, suite_id, source, state, owner, answer_by) \
                     VALUES ($1, $2, $3, 'sending', $4, now() + $5 * interval '1 millisecond') \
                     ON CONFLICT (code_hash) DO UPDATE SET source = EXCLUDED.source, answer_by = EXCLUDED.answer_by, \
                       updated_at = now() \
                     WHERE corp_auth_exchanges.state = 'sending' AND corp_auth_exchanges.owner = EXCLUDED.owner \
                     RETURNING code_hash",
                    &[&hash, &self.suite_id(), &source, &self.inner.owner, &life_ms],
                )
                .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    // The claim may have committed with its answer lost.
                    // Nothing was sent: released, so that another instance
                    // holding the code does not take it for spent.
                    self.release(&hash).await;
                    return Err(e);
                }
            };
            if !claimed.is_empty() {
                break;
            }
            match self.existing_claim(&hash).await? {
                Some(outcome) => return Ok(outcome),
                // Released after WeCom did not act: ours to send now.
                None => continue,
            }
        }
        held.set(Local::Sending);
        match self.inner.suite.get_permanent_code_v2(auth_code).await {
            Ok(answer) => {
                let corp = answer.auth_corp_info.as_ref();
                let corpid = corp.and_then(|c| c.corpid.clone()).filter(|c| !c.is_empty());
                let Some(corpid) = corpid else {
                    let doubt = self
                        .mark_in_doubt(
                            &hash,
                            source,
                            "WeCom's answer had no auth_corp_info.corpid: the permanent code cannot be filed",
                        )
                        .await?;
                    held.resolved = true;
                    return Ok(doubt);
                };
                let corp_name = corp.and_then(|c| c.corp_name.clone());
                let outcome = if reset {
                    Outcome::Reset { corpid: corpid.clone() }
                } else {
                    Outcome::Installed {
                        corpid: corpid.clone(),
                        corp_name: corp_name.clone(),
                        state: answer.state.clone(),
                    }
                };
                let applied = self
                    .complete(
                        &hash,
                        &corpid,
                        corp_name.as_deref(),
                        &answer.permanent_code,
                        &outcome,
                        as_of,
                    )
                    .await?;
                held.resolved = true;
                if applied {
                    // A token (and tickets) fetched with the replaced code
                    // must not outlive it.
                    self.inner.suite.forget_corp(&corpid).await?;
                } else {
                    let info_type = if reset { "reset_permanent_code" } else { "create_auth" };
                    tracing::info!(target: "corp_auth", corpid, info_type,
                        "an install older than what the corp's row reflects: superseded, not applied");
                    return Ok(Outcome::Superseded {
                        corpid,
                        info_type: info_type.to_string(),
                    });
                }
                Ok(outcome)
            }
            // Only the one-shot request itself can have spent the code.
            Err(e)
                if e.operation() == Some(crate::Operation::GetPermanentCodeV2)
                    && e.request_may_have_been_processed() =>
            {
                let doubt = self.mark_in_doubt(&hash, source, &e.to_string()).await?;
                held.resolved = true;
                Ok(doubt)
            }
            Err(e) => {
                // Not consumed: if the release fails, the claim is this
                // instance's to take over.
                held.set(Local::Claiming);
                // WeCom answered and did not act, or the request never left
                // (a token refresh failed): the code was not consumed, so the
                // claim goes and whichever source holds the code sends it.
                self.release(&hash).await;
                Err(e)
            }
        }
    }

    /// Deletes this instance's `sending` claim on `hash`, which it knows it
    /// never sent (or WeCom did not act on): a few tries over about a
    /// second. If they all fail the claim stays; this instance takes it
    /// over when it meets the code again, another reports it in doubt once
    /// its answer-by time passes.
    async fn release(&self, hash: &str) {
        let mut pause = Duration::from_millis(100);
        for attempt in 1..=4 {
            let released = self
                .inner
                .db
                .query(
                    "releasing the claim",
                    "DELETE FROM corp_auth_exchanges WHERE code_hash = $1 AND state = 'sending' AND owner = $2",
                    &[&hash, &self.inner.owner],
                )
                .await;
            match released {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(target: "corp_auth", error = %e, attempt, "releasing an unsent auth_code claim failed");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    }

    /// Commits the permanent code, the exchange's completion and the outcome
    /// in one statement — the code only if the install is newer than what
    /// the corp's row reflects (returns whether it was). Retried, with a
    /// capped backoff, for as long as the process lives: the answer is in
    /// hand and cannot be asked for again, and a database failover takes a
    /// minute or two.
    pub(super) async fn complete(
        &self,
        hash: &str,
        corpid: &str,
        corp_name: Option<&str>,
        permanent_code: &Secret,
        outcome: &Outcome,
        as_of: Option<i64>,
    ) -> Result<bool, Error> {
        let (key_id, sealed) = self.inner.keys.seal(
            &corp_place(self.suite_id(), corpid),
            permanent_code.expose_secret().as_bytes(),
        )?;
        let mut delay = Duration::from_millis(100);
        let mut attempt: u64 = 0;
        loop {
            attempt += 1;
            let result = self
                .inner
                .db
                .query(
                    "recording the permanent code",
                    "WITH c AS (INSERT INTO corp_auth_corps (suite_id, corpid, status, corp_name, key_id, sealed_code, as_of) \
                       VALUES ($1, $2, 'installed', $3, $4, $5, COALESCE($9::bigint, extract(epoch from now())::bigint)) \
                       ON CONFLICT (suite_id, corpid) DO UPDATE SET status = 'installed', \
                       corp_name = COALESCE(EXCLUDED.corp_name, corp_auth_corps.corp_name), key_id = EXCLUDED.key_id, \
                       sealed_code = EXCLUDED.sealed_code, as_of = EXCLUDED.as_of, updated_at = now() \
                       WHERE corp_auth_corps.as_of <= EXCLUDED.as_of RETURNING 1), \
                     x AS (UPDATE corp_auth_exchanges SET state = 'done', corpid = $2, updated_at = now() \
                       WHERE code_hash = $6 RETURNING 1), \
                     o AS (INSERT INTO corp_auth_outcomes (suite_id, kind, corpid, detail) \
                       SELECT $1, $7, $2, $8 WHERE EXISTS (SELECT 1 FROM c)) \
                     SELECT EXISTS (SELECT 1 FROM c)",
                    &[
                        &self.suite_id(),
                        &corpid,
                        &corp_name,
                        &key_id,
                        &sealed,
                        &hash,
                        &kind(outcome),
                        &detail(outcome),
                        &as_of,
                    ],
                )
                .await;
            match result {
                Ok(rows) => return Ok(rows.first().is_some_and(|r| r.get::<_, bool>(0))),
                Err(e) => {
                    tracing::warn!(target: "corp_auth", error = %e, attempt,
                        "recording a permanent code failed; retrying until the database answers (the code cannot be asked for again)");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    pub(super) async fn mark_in_doubt(&self, hash: &str, source: &str, reason: &str) -> Result<Outcome, Error> {
        let id = claim_id(hash);
        let detail = doubt_detail(&id, source, reason);
        let rows = self
            .inner
            .db
            .query(
                "recording an exchange in doubt",
                "WITH x AS (UPDATE corp_auth_exchanges SET state = 'in_doubt', reason = $2, updated_at = now() \
                   WHERE code_hash = $1 RETURNING claimed_at) \
                 INSERT INTO corp_auth_outcomes (suite_id, kind, detail) SELECT $3, 'in_doubt', $4 FROM x \
                 RETURNING (SELECT claimed_at FROM x)",
                &[&hash, &reason, &self.suite_id(), &detail],
            )
            .await?;
        let claimed_at = rows.first().map_or_else(SystemTime::now, |r| r.get(0));
        tracing::warn!(target: "corp_auth", source, reason, "an auth_code exchange is in doubt: it will not be sent again");
        Ok(Outcome::InDoubt(InDoubt {
            id,
            source: source.to_string(),
            claimed_at,
            reason: reason.to_string(),
        }))
    }

    /// The outcome of an `auth_code` someone else claimed: done (a
    /// duplicate) or in doubt, never sent again. A claim its holder is still
    /// working on is waited for (it is not in doubt); `None` when it was
    /// released meanwhile (WeCom did not act): the caller may claim it.
    pub(super) async fn existing_claim(&self, hash: &str) -> Result<Option<Outcome>, Error> {
        let life_ms = self.inner.claim_life.as_millis() as f64;
        let give_up = tokio::time::Instant::now() + self.inner.claim_life;
        loop {
            let rows = self
                .inner
                .db
                .query(
                    "reading a claim",
                    "SELECT state, corpid, source, reason, claimed_at, \
                     COALESCE(answer_by, updated_at + $2 * interval '1 millisecond') < now() \
                     FROM corp_auth_exchanges WHERE code_hash = $1",
                    &[&hash, &life_ms],
                )
                .await?;
            let Some(row) = rows.first() else { return Ok(None) };
            let (state, corpid, source, reason, claimed_at, stale): (
                String,
                Option<String>,
                String,
                Option<String>,
                SystemTime,
                bool,
            ) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5));
            match (state.as_str(), corpid) {
                ("done", Some(corpid)) => {
                    return Ok(Some(Outcome::Installed {
                        corpid,
                        corp_name: None,
                        state: None,
                    }));
                }
                ("sending", _) if !stale => {
                    // Its holder is alive and the request may be in flight.
                    if tokio::time::Instant::now() >= give_up {
                        return Err(Error::Registry {
                            reason: "another instance is exchanging this auth_code and has not finished".into(),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => {
                    return Ok(Some(Outcome::InDoubt(InDoubt {
                        id: claim_id(hash),
                        source,
                        claimed_at,
                        reason: reason.unwrap_or_else(|| {
                            "the instance that sent this auth_code stopped before recording the answer".into()
                        }),
                    })));
                }
            }
        }
    }

    /// Exchanges claimed longer than a request can take and still
    /// unanswered: the instance that sent them stopped. Reported in doubt,
    /// once.
    pub(super) async fn report_stale_exchanges(&self) -> Result<Vec<Outcome>, Error> {
        let life_ms = self.inner.claim_life.as_millis() as f64;
        let rows = self
            .inner
            .db
            .query(
                "reporting stale exchanges",
                "WITH x AS (UPDATE corp_auth_exchanges SET state = 'in_doubt', \
                   reason = 'the instance that sent it stopped before recording the answer', updated_at = now() \
                   WHERE suite_id = $1 AND state = 'sending' \
                   AND COALESCE(answer_by, updated_at + $2 * interval '1 millisecond') < now() \
                   RETURNING source, reason, claimed_at, code_hash), \
                 o AS (INSERT INTO corp_auth_outcomes (suite_id, kind, detail) \
                   SELECT $1, 'in_doubt', json_build_object('id', left(code_hash, 16), 'source', source, 'reason', reason)::text FROM x) \
                 SELECT source, reason, claimed_at, code_hash FROM x",
                &[&self.suite_id(), &life_ms],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Outcome::InDoubt(InDoubt {
                    id: claim_id(r.get(3)),
                    source: r.get(0),
                    reason: r.get(1),
                    claimed_at: r.get(2),
                })
            })
            .collect())
    }
}
