//! The registry's schema: migrations applied once, in order, by any number of
//! instances starting at once.

use tokio_postgres::Client;

use super::failure;
use crate::Error;

/// The registry's tables, one migration per entry: (version, SQL). Applied
/// in order, each once, in a transaction under an advisory lock, so several
/// instances starting at once apply each exactly once.
pub(super) const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r"
CREATE TABLE corp_auth_inbox (
    id           BIGSERIAL PRIMARY KEY,
    suite_id     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,          -- SHA-256 of the whole decrypted event: duplicates are one row
    info_type    TEXT NOT NULL,
    corpid       TEXT,                   -- AuthCorpId when the event has one (not a secret)
    key_id       TEXT NOT NULL,
    sealed       BYTEA NOT NULL,         -- the event, AES-256-GCM
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    state        TEXT NOT NULL DEFAULT 'pending',   -- pending | done
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    attempts     INT NOT NULL DEFAULT 0,
    outcome      TEXT,
    UNIQUE (suite_id, fingerprint)
);
CREATE INDEX corp_auth_inbox_pending ON corp_auth_inbox (suite_id, id) WHERE state = 'pending';
CREATE TABLE corp_auth_exchanges (
    code_hash    TEXT PRIMARY KEY,       -- SHA-256 of the auth_code: the claim, never the code
    suite_id     TEXT NOT NULL,
    source       TEXT NOT NULL,          -- callback | redirect
    state        TEXT NOT NULL,          -- sending | done | in_doubt
    corpid       TEXT,
    reason       TEXT,
    claimed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE corp_auth_corps (
    suite_id     TEXT NOT NULL,
    corpid       TEXT NOT NULL,          -- case kept: encrypted corpids are case-sensitive
    status       TEXT NOT NULL,          -- installed | cancelled
    corp_name    TEXT,
    key_id       TEXT,
    sealed_code  BYTEA,                  -- the permanent_code, AES-256-GCM; NULL once cancelled
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (suite_id, corpid)
);
CREATE TABLE corp_auth_states (
    state        TEXT PRIMARY KEY,
    suite_id     TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE TABLE corp_auth_outcomes (
    id           BIGSERIAL PRIMARY KEY,
    suite_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,          -- installed | changed | cancelled | in_doubt
    corpid       TEXT,
    detail       TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    acknowledged BOOLEAN NOT NULL DEFAULT false
);
",
    ),
    (
        2,
        r"
-- Order: the WeCom TimeStamp of the newest event applied to the corp (or
-- when a redirect install completed), unix seconds; older events are
-- superseded, not applied.
ALTER TABLE corp_auth_corps ADD COLUMN as_of BIGINT NOT NULL DEFAULT 0;
-- Claims with owners: who holds a `sending` claim, and by when its holder
-- has had its answer (the holder's worst case): past that, it stopped.
ALTER TABLE corp_auth_exchanges ADD COLUMN owner TEXT;
ALTER TABLE corp_auth_exchanges ADD COLUMN answer_by TIMESTAMPTZ;
-- A row this instance could not open: the key id, reported once.
ALTER TABLE corp_auth_inbox ADD COLUMN unreadable_key TEXT;
-- Every queue query has its index.
CREATE INDEX corp_auth_exchanges_sending ON corp_auth_exchanges (suite_id, updated_at) WHERE state = 'sending';
CREATE INDEX corp_auth_exchanges_in_doubt ON corp_auth_exchanges (suite_id, claimed_at) WHERE state = 'in_doubt';
CREATE INDEX corp_auth_outcomes_unacknowledged ON corp_auth_outcomes (suite_id, id) WHERE NOT acknowledged;
CREATE INDEX corp_auth_states_expiry ON corp_auth_states (expires_at);
-- Retention: what `Installs::purge` deletes.
CREATE INDEX corp_auth_inbox_done ON corp_auth_inbox (suite_id, received_at) WHERE state = 'done';
CREATE INDEX corp_auth_outcomes_acknowledged ON corp_auth_outcomes (suite_id, created_at) WHERE acknowledged;
CREATE INDEX corp_auth_exchanges_finished ON corp_auth_exchanges (suite_id, updated_at) WHERE state IN ('done', 'resolved');
",
    ),
];

/// Applies the migrations not yet applied. Everything — the bookkeeping
/// table included — happens under one advisory lock, so any number of
/// instances may start at once: one migrates, the others wait and find it
/// done. A failure names the migration.
pub(super) async fn migrate(client: &mut Client) -> Result<(), Error> {
    let step = |what: String| move |e: tokio_postgres::Error| failure(&what, &e);
    let tx = client.transaction().await.map_err(step("migrating: starting".into()))?;
    tx.execute("SELECT pg_advisory_xact_lock(7283746101)", &[])
        .await
        .map_err(step("migrating: taking the migration lock".into()))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS corp_auth_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(step("migrating: creating corp_auth_migrations".into()))?;
    for (version, sql) in MIGRATIONS {
        let done = tx
            .query_opt("SELECT 1 FROM corp_auth_migrations WHERE version = $1", &[version])
            .await
            .map_err(step(format!("migrating: reading migration {version}")))?;
        if done.is_none() {
            tx.batch_execute(sql)
                .await
                .map_err(step(format!("migrating: applying migration {version}")))?;
            tx.execute("INSERT INTO corp_auth_migrations (version) VALUES ($1)", &[version])
                .await
                .map_err(step(format!("migrating: recording migration {version}")))?;
        }
    }
    tx.commit().await.map_err(step("migrating: committing".into()))?;
    Ok(())
}
