//! TLS to PostgreSQL (feature `postgres-tls`), against a PostgreSQL server
//! this test starts itself: `initdb` and `pg_ctl` as the `postgres` user, a
//! certificate made with `openssl` for `localhost` and `127.0.0.1` by a CA
//! of the test's own, and a `pg_hba.conf` that refuses every connection
//! without TLS — so a statement that ran went over TLS.

#[path = "common/redis_server.rs"]
mod redis_server;

use std::path::{Path, PathBuf};
use std::process::Command;

use corp_auth::Error;
use corp_auth::store::Postgres;
use redis_server::{TempDir, TestPki, free_port};

/// A PostgreSQL cluster of the test's own, TLS only over TCP, stopped and
/// removed on drop.
struct OwnPostgres {
    dir: TempDir,
    port: u16,
}

fn run_as_postgres(args: &[&str]) -> std::process::Output {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .expect("runuser, initdb, pg_ctl on PATH");
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl OwnPostgres {
    fn start(pki: &TestPki) -> Self {
        let dir = TempDir::new("pg-tls");
        let data: PathBuf = dir.0.join("data");
        let port = free_port();
        let chown = |path: &Path| {
            let status = Command::new("chown")
                .arg("-R")
                .arg("postgres")
                .arg(path)
                .status()
                .unwrap();
            assert!(status.success());
        };
        for file in ["server.crt", "server.key"] {
            std::fs::copy(pki.path(file), dir.0.join(file)).unwrap();
        }
        chown(&dir.0);
        run_as_postgres(&[
            "initdb",
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ]);
        let d = dir.0.display();
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1,127.0.0.2'\nunix_socket_directories = '{d}'\n\
             ssl = on\nssl_cert_file = '{d}/server.crt'\nssl_key_file = '{d}/server.key'\nfsync = off\n"
        );
        let mut c = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        c.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), c).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.0/8 trust\nhostnossl all all 127.0.0.0/8 reject\n",
        )
        .unwrap();
        std::fs::set_permissions(
            dir.0.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        chown(&dir.0);
        let log = dir.0.join("log");
        run_as_postgres(&[
            "pg_ctl",
            "-D",
            data.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ]);
        Self { dir, port }
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!(
            "postgres://postgres:SENTINEL-db-password@{host}:{}/postgres{query}",
            self.port
        )
    }

    /// `sql` over the cluster's Unix socket (the one way in without TLS).
    fn sql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", &self.dir.0.display().to_string(), "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-Atc", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.dir.0.join("data");
        let _ = Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                "pg_ctl",
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

fn reason(e: &Error) -> String {
    match e {
        Error::Registry { reason } => reason.clone(),
        other => panic!("expected a registry error, got {other:?}"),
    }
}

#[tokio::test]
async fn sslmode_require_connects_over_verified_tls_and_nothing_else_does() {
    let pki = TestPki::new();
    let pg = OwnPostgres::start(&pki);

    // Verified TLS with the test's CA: the migrations ran (over TLS: the
    // server refuses everything else), and the server sees a TLS session.
    let db = Postgres::builder(&pg.url("127.0.0.1", "?sslmode=require"))
        .unwrap()
        .tls_ca_pem(&pki.ca_pem())
        .unwrap()
        .connect()
        .await
        .expect("TLS connection with the test CA");
    assert_eq!(pg.sql("SELECT count(*) FROM corp_auth_migrations"), "2");
    let sessions = pg.sql(
        "SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.client_addr IS NOT NULL",
    );
    assert_eq!(sessions, "t|TLSv1.3", "one TLS 1.3 session from the crate");
    let shown = format!("{db:?}");
    assert!(shown.contains("tls: true") && !shown.contains("SENTINEL"), "{shown}");

    // The host name `localhost` is in the certificate too.
    Postgres::builder(&pg.url("localhost", "?sslmode=require"))
        .unwrap()
        .tls_ca_pem(&pki.ca_pem())
        .unwrap()
        .connect()
        .await
        .expect("localhost is in the certificate");

    // Plain TCP (no sslmode: libpq's `prefer`) is refused by this server,
    // and the error says why.
    let plain = Postgres::connect(&pg.url("127.0.0.1", "")).await.unwrap_err();
    let plain = reason(&plain);
    assert!(plain.contains("no encryption"), "{plain}");

    // TLS without the CA: the platform's roots do not know the test CA.
    let unknown = Postgres::connect(&pg.url("127.0.0.1", "?sslmode=require"))
        .await
        .unwrap_err();
    let unknown = reason(&unknown);
    assert!(unknown.contains("UnknownIssuer"), "{unknown}");

    // A host the certificate is not for (127.0.0.2 reaches the same
    // server): refused although the chain is trusted (verify-full).
    let wrong_name = Postgres::builder(&pg.url("127.0.0.2", "?sslmode=require"))
        .unwrap()
        .tls_ca_pem(&pki.ca_pem())
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    let wrong_name = reason(&wrong_name);
    assert!(wrong_name.contains("not valid for name \"127.0.0.2\""), "{wrong_name}");

    for text in [&plain, &unknown, &wrong_name] {
        assert!(!text.contains("SENTINEL"), "the password leaked: {text}");
    }
}

#[test]
fn bad_settings_are_refused_before_connecting() {
    let err = Postgres::builder("postgres://u@127.0.0.1/db?sslmode=require")
        .unwrap()
        .tls_ca_pem(b"not a certificate")
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { setting: "tls_ca_pem", reason } if reason == "no certificate in the PEM"),
        "{err:?}"
    );
    let err = Postgres::builder("postgres://u:SENTINEL-pw@127.0.0.1/db?sslmode=verify-nothing").unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Config {
                setting: "postgres_url",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!format!("{err:?}{err}").contains("SENTINEL"));
    let builder = Postgres::builder("postgres://u:SENTINEL-pw@db.example:5432/registry?sslmode=require").unwrap();
    let shown = format!("{builder:?}");
    assert!(shown.contains("registry") && !shown.contains("SENTINEL"), "{shown}");
}
