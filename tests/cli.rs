//! The `corp-auth` binary (feature `cli`) against loopback mocks.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::*;
use httpmock::{Method::GET, Method::POST, MockServer};
use serde_json::json;

fn cli() -> Command {
    let mut cmd = Command::cargo_bin("corp-auth").unwrap();
    for var in [
        "CHENGXUN_CORP_AUTHORIZATION",
        "CHENGXUN_TEMP_CORP_SECRET",
        "WECOM_SUITE_ACCESS_TOKEN",
        "WECOM_PERMANENT_CODE",
        "WECOM_AUTH_CODE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn exchange(base_url: &str, out: &Path) -> Command {
    let mut cmd = cli();
    cmd.env("CHENGXUN_CORP_AUTHORIZATION", CORP_AUTHORIZATION)
        .env("CHENGXUN_TEMP_CORP_SECRET", TEMP_CORP_SECRET)
        .args([
            "--base-url",
            base_url,
            "chengxun",
            "exchange",
            "--corp-id",
            "10001",
            "--out",
        ])
        .arg(out);
    cmd
}

fn auth_info(base_url: &str, extra: &[&str]) -> Command {
    let mut cmd = cli();
    cmd.env("WECOM_SUITE_ACCESS_TOKEN", SUITE_ACCESS_TOKEN)
        .env("WECOM_PERMANENT_CODE", PERMANENT_CODE)
        .args([
            "wecom",
            "auth-info",
            "--auth-corpid",
            AUTH_CORPID,
            "--base-url",
            base_url,
        ])
        .args(extra);
    cmd
}

/// Runs, checks the exit status, and checks no secret reached the terminal.
fn run(cmd: &mut Command, status: i32) -> (String, String) {
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        output.status.code(),
        Some(status),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for secret in SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked:\n{stdout}\n{stderr}"
        );
    }
    (stdout, stderr)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corp-auth-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn answer_secret(server: &MockServer) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method(GET)
            .path("/corp-service/v1/corp-secrets")
            .query_param("corp_id", "10001")
            .query_param("corp_authorization", CORP_AUTHORIZATION)
            .query_param("temp_corp_secret", TEMP_CORP_SECRET)
            .header("user-agent", "CX");
        then.status(200)
            .json_body(json!({"err_code": 0, "err_msg": "success", "corp_secret": CORP_SECRET}));
    })
}

#[test]
fn exchange_writes_the_secret_to_a_new_0600_file_and_prints_it_masked() {
    let server = MockServer::start();
    let mock = answer_secret(&server);
    let dir = temp_dir("ok");
    let out = dir.join("corp.secret");
    let (stdout, _) = run(&mut exchange(&server.base_url(), &out), 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), CORP_SECRET);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(
        stdout,
        format!("corp_secret for corp 10001 written to {} (SE…00)\n", out.display())
    );
    assert_eq!(files_in(&dir), vec!["corp.secret"], "no temporary file left");
    mock.assert_calls(1);
}

#[test]
fn exchange_refuses_an_existing_file_before_sending() {
    let server = MockServer::start();
    let mock = answer_secret(&server);
    let dir = temp_dir("exists");
    let out = dir.join("corp.secret");
    std::fs::write(&out, "previous").unwrap();
    let (_, stderr) = run(&mut exchange(&server.base_url(), &out), 2);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    mock.assert_calls(0);
}

#[test]
fn exchange_refuses_a_directory_it_cannot_write_before_sending() {
    let server = MockServer::start();
    let mock = answer_secret(&server);
    let out = temp_dir("nodir").join("missing-dir").join("corp.secret");
    let (_, stderr) = run(&mut exchange(&server.base_url(), &out), 2);
    assert!(stderr.contains("cannot create a file in"), "{stderr}");
    mock.assert_calls(0);
}

#[test]
fn exchange_without_secrets_and_without_a_terminal_names_the_variable() {
    let server = MockServer::start();
    let mock = answer_secret(&server);
    let out = temp_dir("noenv").join("corp.secret");
    let mut cmd = exchange(&server.base_url(), &out);
    cmd.env_remove("CHENGXUN_TEMP_CORP_SECRET");
    let (_, stderr) = run(&mut cmd, 2);
    assert!(stderr.contains("CHENGXUN_TEMP_CORP_SECRET is not set"), "{stderr}");
    assert!(!out.exists());
    mock.assert_calls(0);
}

#[test]
fn exchange_rejects_invalid_input_before_sending() {
    let server = MockServer::start();
    let mock = answer_secret(&server);
    let dir = temp_dir("invalid");
    let mut cmd = exchange(&server.base_url(), &dir.join("corp.secret"));
    cmd.env("CHENGXUN_CORP_AUTHORIZATION", "");
    let (_, stderr) = run(&mut cmd, 2);
    assert!(
        stderr.contains("invalid `corp_authorization`: must not be empty"),
        "{stderr}"
    );
    assert!(files_in(&dir).is_empty(), "{:?}", files_in(&dir));
    mock.assert_calls(0);
}

#[test]
fn a_platform_error_exits_3_with_code_message_and_meaning_and_leaves_no_file() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET);
        then.status(200)
            .json_body(json!({"err_code": 40006, "err_msg": "pre-auth code expired"}));
    });
    let dir = temp_dir("platform");
    let (_, stderr) = run(&mut exchange(&server.base_url(), &dir.join("corp.secret")), 3);
    assert!(
        stderr.contains("40006: pre-auth code expired (预授权码过期)"),
        "{stderr}"
    );
    assert!(files_in(&dir).is_empty(), "{:?}", files_in(&dir));
}

#[test]
fn a_timeout_after_sending_exits_4_and_says_the_temp_secret_may_be_consumed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming() {
            held.push(socket);
        }
    });
    let dir = temp_dir("timeout");
    let mut cmd = exchange(&url, &dir.join("corp.secret"));
    cmd.args(["--timeout", "1"]);
    let (_, stderr) = run(&mut cmd, 4);
    assert!(stderr.contains("timeout"), "{stderr}");
    assert!(stderr.contains("temp_corp_secret may have been consumed"), "{stderr}");
    assert!(
        stderr.contains("ask the organization's admin for a new one"),
        "{stderr}"
    );
    assert!(files_in(&dir).is_empty());
}

#[test]
fn connection_refused_exits_4() {
    let dir = temp_dir("refused");
    let (_, stderr) = run(&mut exchange(&refused_url(), &dir.join("corp.secret")), 4);
    assert!(stderr.contains("transport error (connect)"), "{stderr}");
    assert!(files_in(&dir).is_empty());
}

#[test]
fn an_undecodable_answer_exits_5() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST);
        then.status(200).body("{\"errcode\": 0,");
    });
    let (_, stderr) = run(&mut auth_info(&server.base_url(), &[]), 5);
    assert!(stderr.contains("could not be decoded"), "{stderr}");
}

#[test]
fn an_http_failure_exits_4() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST);
        then.status(502).body(format!("bad gateway for {SUITE_ACCESS_TOKEN}"));
    });
    let (_, stderr) = run(&mut auth_info(&server.base_url(), &[]), 4);
    assert!(stderr.contains("unexpected HTTP status 502"), "{stderr}");
}

const AUTH_INFO: &str = r#"{"errcode": 0, "errmsg": "ok",
  "auth_corp_info": {"corpid": "wwcorp0001", "corp_name": "示例企业", "corp_type": "verified",
                     "corp_user_max": 200, "verified_end_time": 1924905600},
  "auth_info": {"agent": [{"agentid": 1000012, "name": "审批助手", "privilege": {"level": 2}}]}}"#;

fn answer_auth_info(server: &MockServer) -> httpmock::Mock<'_> {
    server.mock(|when, then| {
        when.method(POST)
            .path("/cgi-bin/service/get_auth_info")
            .query_param("suite_access_token", SUITE_ACCESS_TOKEN)
            .json_body(json!({"auth_corpid": AUTH_CORPID, "permanent_code": PERMANENT_CODE}));
        then.status(200)
            .header("content-type", "application/json")
            .body(AUTH_INFO);
    })
}

#[test]
fn auth_info_prints_pretty_json_by_default() {
    let server = MockServer::start();
    let mock = answer_auth_info(&server);
    let (stdout, _) = run(&mut auth_info(&server.base_url(), &[]), 0);
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["auth_corp_info"]["corp_name"], "示例企业");
    assert_eq!(printed["auth_info"]["agent"][0]["privilege"]["level"], 2);
    assert!(stdout.contains("\n  \"auth_corp_info\""), "pretty-printed:\n{stdout}");
    mock.assert_calls(1);
}

/// Terminal columns of `s`: East Asian wide characters take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = matches!(c, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// The display columns of the column separators of each line of a table.
fn separator_columns(table: &str) -> Vec<Vec<usize>> {
    table
        .lines()
        .map(|line| {
            line.char_indices()
                .filter(|(_, c)| {
                    matches!(
                        c,
                        '│' | '┆'
                            | '┌'
                            | '┐'
                            | '└'
                            | '┘'
                            | '├'
                            | '┤'
                            | '┬'
                            | '┴'
                            | '┼'
                            | '╞'
                            | '╡'
                            | '╪'
                    )
                })
                .map(|(i, _)| display_width(&line[..i]))
                .collect()
        })
        .collect()
}

#[test]
fn auth_info_prints_tables_aligned_by_display_width() {
    let server = MockServer::start();
    // Chinese names of different lengths next to long ASCII values: columns
    // must line up on screen, and values must never run together.
    server.mock(|when, then| {
        when.method(POST).path("/cgi-bin/service/get_auth_info");
        then.status(200).header("content-type", "application/json").body(
            r#"{"errcode": 0, "errmsg": "ok",
  "auth_corp_info": {"corpid": "wwcorp0001", "corp_name": "示例企业", "corp_type": "verified",
                     "corp_user_max": 200, "verified_end_time": 1924905600},
  "auth_info": {"agent": [
    {"agentid": 1000012, "name": "审批助手", "privilege": {"level": 2}},
    {"agentid": 1546708138901353, "name": "cillum ut", "privilege": {"level": 1}},
    {"agentid": 7, "name": "打卡", "privilege": {"level": 9}}]}}"#,
        );
    });
    let (stdout, _) = run(&mut auth_info(&server.base_url(), &["--format", "table"]), 0);
    assert_eq!(
        stdout,
        "\
┌────────────────┬────────────┐
│ corp           ┆            │
╞════════════════╪════════════╡
│ corpid         ┆ wwcorp0001 │
│ name           ┆ 示例企业   │
│ type           ┆ verified   │
│ user limit     ┆ 200        │
│ verified until ┆ 2030-12-31 │
└────────────────┴────────────┘
┌──────────────────┬───────────┬──────────────────────┐
│ agent            ┆ name      ┆ privilege level      │
╞══════════════════╪═══════════╪══════════════════════╡
│ 1000012          ┆ 审批助手  ┆ 2 通讯录全部信息只读 │
│ 1546708138901353 ┆ cillum ut ┆ 1 通讯录基本信息只读 │
│ 7                ┆ 打卡      ┆ 9                    │
└──────────────────┴───────────┴──────────────────────┘
"
    );
    // Every line of a table has its separators at the same screen columns.
    for table in stdout.split_inclusive("┘\n") {
        let columns = separator_columns(table);
        assert!(
            columns.windows(2).all(|w| w[0] == w[1]),
            "misaligned:\n{table}\n{columns:?}"
        );
    }
}

#[test]
fn verbose_logs_the_call_to_stderr_without_secrets() {
    let server = MockServer::start();
    answer_auth_info(&server);
    let (stdout, stderr) = run(&mut auth_info(&server.base_url(), &["-v"]), 0);
    assert!(stderr.contains("corp_auth"), "{stderr}");
    assert!(stderr.contains("get_auth_info"), "{stderr}");
    assert!(stderr.contains("call succeeded"), "{stderr}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&stdout).is_ok(),
        "stdout stays clean JSON"
    );
}

#[test]
fn global_options_go_before_or_after_the_subcommand() {
    let server = MockServer::start();
    let mock = answer_auth_info(&server);
    let mut before = cli();
    before
        .env("WECOM_SUITE_ACCESS_TOKEN", SUITE_ACCESS_TOKEN)
        .env("WECOM_PERMANENT_CODE", PERMANENT_CODE)
        .args([
            "--base-url",
            &server.base_url(),
            "--timeout",
            "5",
            "-v",
            "wecom",
            "auth-info",
            "--auth-corpid",
            AUTH_CORPID,
        ]);
    run(&mut before, 0);
    run(&mut auth_info(&server.base_url(), &["--timeout", "5", "-v"]), 0);
    mock.assert_calls(2);
}

#[test]
fn a_negative_corp_id_is_a_value_not_an_option() {
    // clap would read `-1` as an unknown flag; the id is sent as given (the
    // platform documents no range).
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.method(GET)
            .path("/corp-service/v1/corp-secrets")
            .query_param("corp_id", "-1");
        then.status(200)
            .json_body(json!({"err_code": 40006, "err_msg": "组织不存在"}));
    });
    let dir = temp_dir("negative");
    let out = dir.join("corp.secret");
    let mut cmd = cli();
    cmd.env("CHENGXUN_CORP_AUTHORIZATION", CORP_AUTHORIZATION)
        .env("CHENGXUN_TEMP_CORP_SECRET", TEMP_CORP_SECRET)
        .args([
            "--base-url",
            &server.base_url(),
            "chengxun",
            "exchange",
            "--corp-id",
            "-1",
            "--out",
        ])
        .arg(&out);
    let (_, stderr) = run(&mut cmd, 3);
    assert!(stderr.contains("40006"), "{stderr}");
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
    mock.assert_calls(1);
}

#[test]
fn usage_errors_exit_2() {
    run(cli().args(["chengxun", "exchange", "--corp-id", "10001"]), 2); // --out missing
    run(cli().args(["chengxun", "exchange", "--corp-id", "x", "--out", "f"]), 2);
    run(
        cli().args(["wecom", "auth-info", "--auth-corpid", "ww", "--format", "xml"]),
        2,
    );
    let (_, stderr) = run(
        cli().args(["--base-url", "ftp://x", "wecom", "auth-info", "--auth-corpid", "ww"]),
        2,
    );
    assert!(stderr.contains("base_url"), "{stderr}");
}

#[test]
fn every_command_has_help_with_an_example() {
    let (top, _) = run(cli().arg("--help"), 0);
    assert!(top.contains("chengxun") && top.contains("wecom"), "{top}");
    assert!(top.contains("Examples:\n  corp-auth chengxun exchange"), "{top}");
    for args in [
        &["chengxun", "--help"][..],
        &["wecom", "--help"],
        &["chengxun", "exchange", "--help"],
        &["wecom", "auth-info", "--help"],
    ] {
        let (help, _) = run(cli().args(args), 0);
        assert!(help.contains("Example:\n  corp-auth "), "{args:?}: {help}");
    }
}

// --- wecom permanent-code and install-url ---------------------------------------

fn permanent_code(base_url: &str, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = cli();
    cmd.env("WECOM_SUITE_ACCESS_TOKEN", SUITE_ACCESS_TOKEN)
        .env("WECOM_AUTH_CODE", AUTH_CODE)
        .args([
            "--base-url",
            base_url,
            "--timeout",
            "1",
            "wecom",
            "permanent-code",
            "--out",
        ])
        .arg(out)
        .args(extra);
    cmd
}

#[test]
fn permanent_code_writes_a_new_0600_file_with_v2_by_default_and_v1_on_request() {
    for (flag, path) in [
        (None, "/cgi-bin/service/v2/get_permanent_code"),
        (Some("--v1"), "/cgi-bin/service/get_permanent_code"),
    ] {
        let server = MockServer::start();
        let mock = server.mock(|when, then| {
            when.method(POST)
                .path(path)
                .query_param("suite_access_token", SUITE_ACCESS_TOKEN)
                .json_body(json!({"auth_code": AUTH_CODE}));
            then.status(200)
                .json_body(json!({"errcode": 0, "errmsg": "ok", "permanent_code": PERMANENT_CODE,
                "auth_corp_info": {"corpid": AUTH_CORPID, "corp_name": "示例企业"}}));
        });
        let dir = temp_dir(if flag.is_some() { "pc-v1" } else { "pc-v2" });
        let out = dir.join("corp.permanent-code");
        let (stdout, _) = run(&mut permanent_code(&server.base_url(), &out, flag.as_slice()), 0);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), PERMANENT_CODE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(
            stdout,
            format!(
                "permanent_code for corp {AUTH_CORPID} 示例企业 written to {} (SE…e1)\n",
                out.display()
            )
        );
        assert_eq!(files_in(&dir), vec!["corp.permanent-code"]);
        mock.assert_calls(1);
    }
}

#[test]
fn permanent_code_refuses_an_existing_file_before_sending() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(json!({"permanent_code": PERMANENT_CODE}));
    });
    let dir = temp_dir("pc-exists");
    let out = dir.join("taken");
    std::fs::write(&out, "keep me").unwrap();
    let (_, stderr) = run(&mut permanent_code(&server.base_url(), &out, &[]), 2);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    mock.assert_calls(0);
}

#[test]
fn permanent_code_is_sent_once_on_a_timeout_and_says_the_auth_code_may_be_spent() {
    // The server runs on this runtime's worker threads while the CLI runs.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, accepted) = rt.block_on(silent_server());
    let dir = temp_dir("pc-timeout");
    let out = dir.join("code");
    let (_, stderr) = run(&mut permanent_code(&url, &out, &[]), 4);
    assert!(stderr.contains("the auth_code may have been consumed"), "{stderr}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1, "sent once");
    assert!(files_in(&dir).is_empty(), "nothing left behind");
}

#[test]
fn install_url_gets_a_pre_auth_code_sets_the_session_and_prints_the_link() {
    let server = MockServer::start();
    let pre = server.mock(|when, then| {
        when.method(GET)
            .path("/cgi-bin/service/get_pre_auth_code")
            .query_param("suite_access_token", SUITE_ACCESS_TOKEN);
        then.status(200)
            .json_body(json!({"errcode": 0, "pre_auth_code": "preAuthCode01", "expires_in": 1200}));
    });
    let session = server.mock(|when, then| {
        when.method(POST)
            .path("/cgi-bin/service/set_session_info")
            .json_body(json!({"pre_auth_code": "preAuthCode01", "session_info": {"auth_type": 1}}));
        then.status(200).json_body(json!({"errcode": 0, "errmsg": "ok"}));
    });
    let mut cmd = cli();
    cmd.env("WECOM_SUITE_ACCESS_TOKEN", SUITE_ACCESS_TOKEN).args([
        "--base-url",
        &server.base_url(),
        "wecom",
        "install-url",
        "--suite-id",
        "wwsuite01",
        "--redirect-uri",
        "https://isv.example/installed",
        "--state",
        "a1b2",
        "--test",
    ]);
    let (stdout, _) = run(&mut cmd, 0);
    assert_eq!(
        stdout,
        "https://open.work.weixin.qq.com/3rdapp/install?suite_id=wwsuite01&pre_auth_code=preAuthCode01\
         &redirect_uri=https%3A%2F%2Fisv.example%2Finstalled&state=a1b2\n"
    );
    pre.assert_calls(1);
    session.assert_calls(1);
}

#[test]
fn install_url_refuses_a_bad_state_before_sending() {
    let server = MockServer::start();
    let mock = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(json!({}));
    });
    let mut cmd = cli();
    cmd.env("WECOM_SUITE_ACCESS_TOKEN", SUITE_ACCESS_TOKEN).args([
        "--base-url",
        &server.base_url(),
        "wecom",
        "install-url",
        "--suite-id",
        "wwsuite01",
        "--redirect-uri",
        "https://isv.example/installed",
        "--state",
        "not-alnum!",
    ]);
    let (_, stderr) = run(&mut cmd, 2);
    assert!(stderr.contains("invalid `state`"), "{stderr}");
    mock.assert_calls(0);
}
