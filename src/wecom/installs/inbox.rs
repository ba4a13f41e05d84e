//! The inbox: claiming pending callbacks one at a time under a renewed
//! lease, handling each in order per corp (`as_of`), putting back what
//! failed without consuming anything.

use std::time::{Duration, SystemTime};

use super::record::{code_expired, event_corp, kind, retry_later};

use super::*;

impl Installs {
    /// Handles the pending events of this suite, each once across every
    /// instance (claimed with a row lock and a lease; a crashed worker's
    /// events are taken over when its lease ends): `create_auth` exchanges
    /// its code, `change_auth` re-reads the auth info, `cancel_auth` deletes
    /// the corp's permanent code and drops its cached token,
    /// `reset_permanent_code` exchanges the new code and replaces the old
    /// one, `suite_ticket` stores the ticket. Exchanges left unanswered by a
    /// crashed instance are reported in doubt. Returns the outcomes of this
    /// call.
    pub async fn process_pending(&self) -> Result<Vec<Outcome>, Error> {
        let now = crate::wecom::managed::now_ms();
        let last = self.inner.last_purge.load(std::sync::atomic::Ordering::Relaxed);
        if now - last > PURGE_EVERY.as_millis() as i64 {
            self.inner.last_purge.store(now, std::sync::atomic::Ordering::Relaxed);
            self.purge().await?;
        }
        let mut outcomes = self.report_stale_exchanges().await?;
        // One event per claim: each lease covers the worst case of one event
        // (never a batch that a slow exchange would outlive).
        for _ in 0..100 {
            let Some(row) = self.claim_next().await? else { break };
            let (id, fingerprint, key_id, sealed, attempts, reported, received_at): (
                i64,
                String,
                String,
                Vec<u8>,
                i32,
                Option<String>,
                SystemTime,
            ) = (
                row.get(0),
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
                row.get(6),
            );
            let place = inbox_place(self.suite_id(), &fingerprint);
            let Ok(xml) = self.inner.keys.open(&key_id, &place, &sealed) else {
                // Sealed under a key this instance lacks (a rolling key
                // change): left at once for an instance that has it (this
                // one no longer claims it); reported once.
                self.put_back(id, Duration::ZERO, Some(&key_id)).await?;
                if reported.as_deref() != Some(key_id.as_str()) {
                    tracing::warn!(target: "corp_auth", key_id, "a stored callback is sealed under a key this instance does not have: skipped");
                    outcomes.push(Outcome::Unreadable { key_id });
                }
                continue;
            };
            let parsed = String::from_utf8(xml)
                .map_err(|_| Error::Registry {
                    reason: "a stored callback is not UTF-8".into(),
                })
                .and_then(|xml| Event::parse(&xml));
            let result = match &parsed {
                Ok(event) => self.handle(event, Some(id)).await,
                Err(e) => Err(Error::Registry {
                    reason: format!("a stored callback does not parse: {e}"),
                }),
            };
            match result {
                Ok(outcome) => {
                    self.finish(id, &outcome).await?;
                    // An exchange reported stale above and met again by its
                    // event is one doubt: returned once.
                    let repeated = matches!(&outcome, Outcome::InDoubt(d)
                        if outcomes.iter().any(|o| matches!(o, Outcome::InDoubt(e) if e.id == d.id)));
                    if !repeated {
                        outcomes.push(outcome);
                    }
                }
                // Nothing was consumed: tried again with backoff — an
                // install for as long as its auth_code lives, anything else
                // until it goes through.
                Err(e) if parsed.is_ok() && retry_later(&e) && !code_expired(parsed.as_ref().ok(), received_at) => {
                    let pause = Duration::from_secs(1 << attempts.clamp(0, 5)).min(MAX_BACKOFF);
                    tracing::warn!(target: "corp_auth", error = %e, attempts, pause_s = pause.as_secs(),
                        "a callback failed without consuming anything; it will be retried");
                    self.put_back(id, pause, None).await?;
                }
                Err(e) => {
                    let outcome = Outcome::Failed {
                        corpid: parsed.as_ref().ok().and_then(event_corp),
                        reason: e.to_string(),
                    };
                    self.record(&outcome).await?;
                    self.finish(id, &outcome).await?;
                    outcomes.push(outcome);
                }
            }
        }
        Ok(outcomes)
    }

    /// Claims the oldest pending event no one holds, for one lease.
    pub(super) async fn claim_next(&self) -> Result<Option<tokio_postgres::Row>, Error> {
        let lease_ms = self.inner.lease.as_millis() as f64;
        let mut rows = self
            .inner
            .db
            .query(
                "claiming a pending callback",
                "UPDATE corp_auth_inbox SET lease_owner = $2, lease_until = now() + $3 * interval '1 millisecond', \
                 attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM corp_auth_inbox WHERE suite_id = $1 AND state = 'pending' \
                   AND (lease_until IS NULL OR lease_until < now()) \
                   AND (unreadable_key IS NULL OR key_id = ANY($4)) \
                   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, fingerprint, key_id, sealed, attempts, unreadable_key, received_at",
                &[&self.suite_id(), &self.inner.owner, &lease_ms, &self.inner.keys.ids()],
            )
            .await?;
        Ok(rows.pop())
    }

    /// Gives event `id` back (if this instance still holds it), to be
    /// claimed again after `pause`; `unreadable` records the key it could
    /// not be opened with.
    pub(super) async fn put_back(&self, id: i64, pause: Duration, unreadable: Option<&str>) -> Result<(), Error> {
        let pause_ms = pause.as_millis() as f64;
        self.inner
            .db
            .query(
                "rescheduling a callback",
                "UPDATE corp_auth_inbox SET lease_owner = NULL, lease_until = now() + $3 * interval '1 millisecond', \
                 unreadable_key = COALESCE($4, unreadable_key) WHERE id = $1 AND lease_owner = $2",
                &[&id, &self.inner.owner, &pause_ms, &unreadable],
            )
            .await?;
        Ok(())
    }

    /// Renews this instance's lease on event `held` (a redirect holds
    /// none), or fails when it has lost it: done before each effect, so a
    /// worker whose lease ran out does nothing more, and one that works on
    /// has a whole lease for the next step.
    pub(super) async fn ensure_owned(&self, held: Option<i64>) -> Result<(), Error> {
        let Some(id) = held else { return Ok(()) };
        let lease_ms = self.inner.lease.as_millis() as f64;
        let rows = self
            .inner
            .db
            .query(
                "renewing the lease",
                "UPDATE corp_auth_inbox SET lease_until = now() + $3 * interval '1 millisecond' \
                 WHERE id = $1 AND lease_owner = $2 AND lease_until > now() RETURNING 1",
                &[&id, &self.inner.owner, &lease_ms],
            )
            .await?;
        if rows.is_empty() {
            return Err(Error::Registry {
                reason: "this instance's lease on the callback ended: another instance handles it".into(),
            });
        }
        Ok(())
    }

    /// Marks event `id` done, if this instance still holds its lease.
    pub(super) async fn finish(&self, id: i64, outcome: &Outcome) -> Result<(), Error> {
        self.inner
            .db
            .query(
                "completing a callback",
                "UPDATE corp_auth_inbox SET state = 'done', outcome = $3, lease_owner = NULL \
                 WHERE id = $1 AND lease_owner = $2",
                &[&id, &self.inner.owner, &kind(outcome)],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn handle(&self, event: &Event, held: Option<i64>) -> Result<Outcome, Error> {
        let suite = &self.inner.suite;
        match event {
            Event::SuiteTicket { .. } => {
                suite.handle_event(event).await?;
                Ok(Outcome::TicketStored)
            }
            Event::CreateAuth {
                auth_code, timestamp, ..
            }
            | Event::ResetPermanentCode {
                auth_code, timestamp, ..
            } => {
                let reset = matches!(event, Event::ResetPermanentCode { .. });
                self.exchange(auth_code.expose_secret(), "callback", reset, Some(*timestamp), held)
                    .await
            }
            Event::ChangeAuth {
                auth_corp_id,
                timestamp,
                ..
            } => {
                self.ensure_owned(held).await?;
                // Applied only if newer than what the corp's row reflects.
                let rows = self
                    .inner
                    .db
                    .query(
                        "ordering a change",
                        "SELECT as_of <= $3 FROM corp_auth_corps WHERE suite_id = $1 AND corpid = $2",
                        &[&self.suite_id(), auth_corp_id, timestamp],
                    )
                    .await?;
                if rows.first().is_some_and(|r| !r.get::<_, bool>(0)) {
                    return Ok(self.superseded(auth_corp_id, event));
                }
                if let Some(code) = self.permanent_code(auth_corp_id).await? {
                    let info = suite.get_auth_info_v2(auth_corp_id, code.expose_secret()).await?;
                    let name = info.auth_corp_info.and_then(|c| c.corp_name);
                    self.inner
                        .db
                        .query(
                            "updating the corp",
                            // The change does not move `as_of`: it orders
                            // nothing (a re-read reads the current state),
                            // and a reset older than it still carries the
                            // newer code.
                            "UPDATE corp_auth_corps SET corp_name = COALESCE($3, corp_name), updated_at = now() \
                             WHERE suite_id = $1 AND corpid = $2",
                            &[&self.suite_id(), auth_corp_id, &name],
                        )
                        .await?;
                }
                let outcome = Outcome::Changed {
                    corpid: auth_corp_id.clone(),
                };
                self.record(&outcome).await?;
                Ok(outcome)
            }
            Event::CancelAuth {
                auth_corp_id,
                timestamp,
                ..
            } => {
                self.ensure_owned(held).await?;
                // The permanent code goes, and the outcome is recorded, in
                // one statement — only if the cancel is newer than what the
                // corp's row reflects (a reinstall after it wins).
                let rows = self
                    .inner
                    .db
                    .query(
                        "cancelling the corp",
                        "WITH c AS (INSERT INTO corp_auth_corps (suite_id, corpid, status, as_of) VALUES ($1, $2, 'cancelled', $3) \
                           ON CONFLICT (suite_id, corpid) DO UPDATE SET status = 'cancelled', key_id = NULL, \
                           sealed_code = NULL, as_of = EXCLUDED.as_of, updated_at = now() \
                           WHERE corp_auth_corps.as_of <= EXCLUDED.as_of RETURNING 1), \
                         o AS (INSERT INTO corp_auth_outcomes (suite_id, kind, corpid) SELECT $1, 'cancelled', $2 FROM c) \
                         SELECT EXISTS (SELECT 1 FROM c)",
                        &[&self.suite_id(), auth_corp_id, timestamp],
                    )
                    .await?;
                if !rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
                    return Ok(self.superseded(auth_corp_id, event));
                }
                suite.forget_corp(auth_corp_id).await?;
                Ok(Outcome::Cancelled {
                    corpid: auth_corp_id.clone(),
                })
            }
            other => Ok(Outcome::Ignored {
                info_type: other.info_type().to_string(),
            }),
        }
    }

    /// The outcome of an event older than the corp's row (logged).
    pub(super) fn superseded(&self, corpid: &str, event: &Event) -> Outcome {
        tracing::info!(target: "corp_auth", corpid, event = event.info_type(),
            "an event older than what the corp's row reflects: superseded, not applied");
        Outcome::Superseded {
            corpid: corpid.to_string(),
            info_type: event.info_type().to_string(),
        }
    }
}
