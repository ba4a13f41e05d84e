//! What the application and the operator read and manage: outcomes, corps,
//! exchanges in doubt, retention and key rotation.

use std::time::SystemTime;

use super::record::{claim_id, corpid_of, detail, kind, outcome_of};

use super::*;

impl Installs {
    /// Records `outcome` for the application (acknowledged later).
    pub(super) async fn record(&self, outcome: &Outcome) -> Result<(), Error> {
        self.inner
            .db
            .query(
                "recording an outcome",
                "INSERT INTO corp_auth_outcomes (suite_id, kind, corpid, detail) VALUES ($1, $2, $3, $4)",
                &[&self.suite_id(), &kind(outcome), &corpid_of(outcome), &detail(outcome)],
            )
            .await?;
        Ok(())
    }

    /// The outcomes the application has not acknowledged yet, oldest first,
    /// with their ids: act on each (create or close the tenant), then
    /// [`acknowledge`](Installs::acknowledge) it. A crash in between shows it
    /// again: at least once.
    pub async fn unacknowledged(&self) -> Result<Vec<(i64, Outcome)>, Error> {
        let rows = self
            .inner
            .db
            .query(
                "reading outcomes",
                "SELECT id, kind, corpid, detail, created_at FROM corp_auth_outcomes \
                 WHERE suite_id = $1 AND NOT acknowledged ORDER BY id",
                &[&self.suite_id()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let (id, kind, corpid, detail, at): (i64, String, Option<String>, Option<String>, SystemTime) =
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
                (id, outcome_of(&kind, corpid, detail, at))
            })
            .collect())
    }

    /// Acknowledges outcome `id`: the application has acted on it.
    pub async fn acknowledge(&self, id: i64) -> Result<(), Error> {
        self.inner
            .db
            .query(
                "acknowledging an outcome",
                "UPDATE corp_auth_outcomes SET acknowledged = true WHERE id = $1 AND suite_id = $2",
                &[&id, &self.suite_id()],
            )
            .await?;
        Ok(())
    }

    /// The permanent code of `corpid`, opened; `None` when it is not
    /// installed.
    pub(super) async fn permanent_code(&self, corpid: &str) -> Result<Option<Secret>, Error> {
        let rows = self
            .inner
            .db
            .query(
                "reading the corp",
                "SELECT key_id, sealed_code FROM corp_auth_corps WHERE suite_id = $1 AND corpid = $2 AND status = 'installed'",
                &[&self.suite_id(), &corpid],
            )
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let (key_id, sealed): (Option<String>, Option<Vec<u8>>) = (row.get(0), row.get(1));
        let (Some(key_id), Some(sealed)) = (key_id, sealed) else {
            return Ok(None);
        };
        let code = self
            .inner
            .keys
            .open(&key_id, &corp_place(self.suite_id(), corpid), &sealed)?;
        let code = String::from_utf8(code).map_err(|_| Error::Registry {
            reason: "a stored permanent code is not UTF-8".into(),
        })?;
        Ok(Some(Secret::new(code)))
    }

    /// The corp handle of an installed corp, its permanent code from the
    /// registry: [`Corp::access_token`](crate::wecom::Corp::access_token) and the
    /// corp operations.
    pub async fn corp(&self, corpid: &str) -> Result<crate::wecom::Corp, Error> {
        match self.permanent_code(corpid).await? {
            Some(code) => Ok(self.inner.suite.corp(corpid, code.expose_secret())),
            None => Err(Error::InvalidInput {
                parameter: "corpid",
                rule: "no install of this corp is recorded (never installed, or cancelled)".into(),
            }),
        }
    }

    /// Every corp of the registry, installed or cancelled.
    pub async fn corps(&self) -> Result<Vec<CorpRecord>, Error> {
        let rows = self
            .inner
            .db
            .query(
                "listing corps",
                "SELECT corpid, status, corp_name FROM corp_auth_corps WHERE suite_id = $1 ORDER BY corpid",
                &[&self.suite_id()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| CorpRecord {
                corpid: r.get(0),
                status: if r.get::<_, String>(1) == "installed" {
                    CorpStatus::Installed
                } else {
                    CorpStatus::Cancelled
                },
                corp_name: r.get(2),
            })
            .collect())
    }

    /// The exchanges whose answer was lost (and those left unanswered past
    /// the lease by a stopped instance): never sent again. See [`InDoubt`]
    /// for what an operator does.
    pub async fn in_doubt(&self) -> Result<Vec<InDoubt>, Error> {
        let lease_ms = self.inner.claim_life.as_millis() as f64;
        let rows = self
            .inner
            .db
            .query(
                "listing exchanges in doubt",
                "SELECT source, COALESCE(reason, 'the instance that sent it stopped before recording the answer'), \
                 claimed_at, code_hash FROM corp_auth_exchanges WHERE suite_id = $1 AND (state = 'in_doubt' \
                 OR (state = 'sending' AND COALESCE(answer_by, updated_at + $2 * interval '1 millisecond') < now())) \
                 ORDER BY claimed_at",
                &[&self.suite_id(), &lease_ms],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| InDoubt {
                id: claim_id(r.get(3)),
                source: r.get(0),
                reason: r.get(1),
                claimed_at: r.get(2),
            })
            .collect())
    }

    /// Marks the in-doubt exchange `id` resolved, after the operator checked
    /// the corp in WeCom's console and acted (a reinstall or a reset brings
    /// a new code): it leaves [`in_doubt`](Installs::in_doubt), and its
    /// code is still never sent again. True when an exchange in doubt had
    /// that id.
    pub async fn resolve_in_doubt(&self, id: &str) -> Result<bool, Error> {
        let life_ms = self.inner.claim_life.as_millis() as f64;
        let rows = self
            .inner
            .db
            .query(
                "resolving an exchange in doubt",
                "UPDATE corp_auth_exchanges SET state = 'resolved', updated_at = now() \
                 WHERE suite_id = $1 AND left(code_hash, 16) = $2 AND (state = 'in_doubt' OR (state = 'sending' \
                 AND COALESCE(answer_by, updated_at + $3 * interval '1 millisecond') < now())) RETURNING 1",
                &[&self.suite_id(), &id, &life_ms],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Deletes what the [retention](InstallsBuilder::retention) no longer
    /// keeps: processed callbacks (suite tickets included), acknowledged
    /// outcomes, finished and resolved exchanges older than it, and expired
    /// install states. Pending events, unacknowledged outcomes and
    /// exchanges in doubt are kept whatever their age. Returns how many
    /// rows went. `process_pending` runs it once an hour.
    pub async fn purge(&self) -> Result<u64, Error> {
        let keep_s = self.inner.retention.as_secs_f64();
        let rows = self
            .inner
            .db
            .query(
                "purging",
                "WITH i AS (DELETE FROM corp_auth_inbox WHERE suite_id = $1 AND state = 'done' \
                   AND received_at < now() - $2 * interval '1 second' RETURNING 1), \
                 o AS (DELETE FROM corp_auth_outcomes WHERE suite_id = $1 AND acknowledged \
                   AND created_at < now() - $2 * interval '1 second' RETURNING 1), \
                 x AS (DELETE FROM corp_auth_exchanges WHERE suite_id = $1 AND state IN ('done', 'resolved') \
                   AND updated_at < now() - $2 * interval '1 second' RETURNING 1), \
                 s AS (DELETE FROM corp_auth_states WHERE expires_at < now() RETURNING 1) \
                 SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM o) + (SELECT count(*) FROM x) \
                   + (SELECT count(*) FROM s)",
                &[&self.suite_id(), &keep_s],
            )
            .await?;
        let purged = rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64;
        if purged > 0 {
            tracing::info!(target: "corp_auth", purged, "rows past the retention period deleted");
        }
        Ok(purged)
    }

    /// Re-seals every stored value under the current key (the first
    /// [`encryption_key`](InstallsBuilder::encryption_key)): run it after
    /// adding a new key, then remove the old key from the configuration.
    /// Returns how many values were re-sealed.
    pub async fn reseal(&self) -> Result<usize, Error> {
        let current = self.inner.keys.current().to_string();
        let db = &self.inner.db;
        let mut count = 0;
        let corps = db
            .query(
                "reading corps to re-seal",
                "SELECT corpid, key_id, sealed_code FROM corp_auth_corps \
                 WHERE suite_id = $1 AND sealed_code IS NOT NULL AND key_id <> $2",
                &[&self.suite_id(), &current],
            )
            .await?;
        for row in corps {
            let (corpid, key_id, sealed): (String, String, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
            let place = corp_place(self.suite_id(), &corpid);
            let plain = self.inner.keys.open(&key_id, &place, &sealed)?;
            let (new_id, resealed) = self.inner.keys.seal(&place, &plain)?;
            db.query(
                "re-sealing a corp",
                // Only the value read: a code written meanwhile is never
                // overwritten with the older one.
                "UPDATE corp_auth_corps SET key_id = $3, sealed_code = $4 \
                 WHERE suite_id = $1 AND corpid = $2 AND key_id = $5 AND sealed_code = $6",
                &[&self.suite_id(), &corpid, &new_id, &resealed, &key_id, &sealed],
            )
            .await?;
            count += 1;
        }
        let events = db
            .query(
                "reading callbacks to re-seal",
                "SELECT id, fingerprint, key_id, sealed FROM corp_auth_inbox WHERE suite_id = $1 AND key_id <> $2",
                &[&self.suite_id(), &current],
            )
            .await?;
        for row in events {
            let (id, fingerprint, key_id, sealed): (i64, String, String, Vec<u8>) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let place = inbox_place(self.suite_id(), &fingerprint);
            let plain = self.inner.keys.open(&key_id, &place, &sealed)?;
            let (new_id, resealed) = self.inner.keys.seal(&place, &plain)?;
            db.query(
                "re-sealing a callback",
                "UPDATE corp_auth_inbox SET key_id = $2, sealed = $3 WHERE id = $1 AND key_id = $4",
                &[&id, &new_id, &resealed, &key_id],
            )
            .await?;
            count += 1;
        }
        Ok(count)
    }
}
