//! Fault injection: what the client does on a bad day. Every scenario runs
//! with sentinel secrets and checks the exact error, the number of requests
//! the server saw (the one-shot exchange is never sent twice), and that no
//! secret reached an error's output or any crate's tracing output.

mod common;

use std::time::{Duration, Instant};

use common::raw::{RawServer, Reply, json, response};
use common::*;
use corp_auth::{Error, RetryPolicy, TransportKind, chengxun, wecom};

fn cx(url: &str) -> chengxun::Client {
    chengxun::Client::builder()
        .base_url(url)
        .timeout(Duration::from_millis(800))
        .retry(fast_retry())
        .max_response_bytes(1024 * 1024)
        .build()
        .unwrap()
}

fn wc(url: &str) -> wecom::Client {
    wecom::Client::builder()
        .base_url(url)
        .timeout(Duration::from_millis(800))
        .retry(fast_retry())
        .max_response_bytes(1024 * 1024)
        .build()
        .unwrap()
}

/// Runs the exchange against `reply`; returns the error and the requests seen.
async fn exchange_fails(reply: impl Fn(usize) -> Reply + Send + Sync + 'static) -> (Error, usize) {
    let logs = Logs::capture();
    let server = RawServer::start(reply).await;
    let started = Instant::now();
    let err = cx(&server.url)
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no hang: {:?}",
        started.elapsed()
    );
    assert_no_secret(&err);
    logs.assert_no_secret();
    (err, server.requests())
}

/// Runs get_auth_info against `reply`; returns the result and the requests seen.
async fn auth_info(reply: impl Fn(usize) -> Reply + Send + Sync + 'static) -> (Result<(), Error>, usize) {
    let logs = Logs::capture();
    let server = RawServer::start(reply).await;
    let started = Instant::now();
    let result = wc(&server.url)
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .map(drop);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no hang: {:?}",
        started.elapsed()
    );
    if let Err(err) = &result {
        assert_no_secret(err);
    }
    logs.assert_no_secret();
    (result, server.requests())
}

fn ok_exchange() -> Reply {
    json(
        "200 OK",
        &format!(r#"{{"err_code":0,"err_msg":"success","corp_secret":"{CORP_SECRET}"}}"#),
    )
}

// --- no answer, broken connections --------------------------------------

#[tokio::test]
async fn no_answer_is_a_timeout_and_the_exchange_is_sent_once() {
    let (err, requests) = exchange_fails(|_| Reply::Silent).await;
    assert_eq!(transport_kind(&err), Some(TransportKind::Timeout), "{err:?}");
    assert_eq!(requests, 1);
    let (result, requests) = auth_info(|_| Reply::Silent).await;
    assert_eq!(
        result.as_ref().err().and_then(transport_kind),
        Some(TransportKind::Timeout),
        "{result:?}"
    );
    assert_eq!(requests, 3, "a read is retried");
}

#[tokio::test]
async fn connection_closed_before_the_headers() {
    let (err, requests) = exchange_fails(|_| Reply::Bytes(Vec::new())).await;
    assert_eq!(transport_kind(&err), Some(TransportKind::Other), "{err:?}");
    assert!(err.request_may_have_been_processed() && !err.is_retryable());
    assert_eq!(requests, 1);
    let (result, requests) = auth_info(|_| Reply::Bytes(Vec::new())).await;
    assert_eq!(
        result.as_ref().err().and_then(transport_kind),
        Some(TransportKind::Other),
        "{result:?}"
    );
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn connection_closed_in_the_middle_of_the_headers() {
    let cut = || Reply::Bytes(b"HTTP/1.1 200 OK\r\ncontent-ty".to_vec());
    let (err, requests) = exchange_fails(move |_| cut()).await;
    assert_eq!(transport_kind(&err), Some(TransportKind::Other), "{err:?}");
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn connection_closed_in_the_middle_of_the_body() {
    let cut = || Reply::Bytes(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"err_code\": 0, \"corp_".to_vec());
    let (err, requests) = exchange_fails(move |_| cut()).await;
    assert_eq!(transport_kind(&err), Some(TransportKind::Body), "{err:?}");
    assert!(
        err.to_string().contains("temp_corp_secret may have been consumed"),
        "{err}"
    );
    assert_eq!(requests, 1);
    let (result, requests) = auth_info(move |_| cut()).await;
    assert_eq!(
        result.as_ref().err().and_then(transport_kind),
        Some(TransportKind::Body),
        "{result:?}"
    );
    assert_eq!(requests, 3);
}

// --- bodies that do not decode --------------------------------------------

#[tokio::test]
async fn truncated_json() {
    let (err, requests) = exchange_fails(|_| json("200 OK", r#"{"err_code": 0, "err_msg": "succ"#)).await;
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("EOF")),
        "{err:?}"
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn invalid_utf8() {
    let (err, _) = exchange_fails(|_| response("200 OK", &[], b"{\"err_code\": 0, \"err_msg\": \"\xff\xfe\"}")).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn an_empty_200() {
    let (err, requests) = exchange_fails(|_| response("200 OK", &[], b"")).await;
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("EOF")),
        "{err:?}"
    );
    assert_eq!(requests, 1);
    let (result, requests) = auth_info(|_| response("200 OK", &[], b"")).await;
    assert!(matches!(result, Err(Error::Decode { .. })), "{result:?}");
    assert_eq!(requests, 1, "a decode error is not retried");
}

#[tokio::test]
async fn valid_json_with_a_text_plain_content_type_is_accepted() {
    let logs = Logs::capture();
    let body = format!(r#"{{"err_code":0,"err_msg":"success","corp_secret":"{CORP_SECRET}"}}"#);
    let server =
        RawServer::start(move |_| response("200 OK", &[("content-type", "text/plain")], body.as_bytes())).await;
    let secret = cx(&server.url)
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
        .unwrap();
    assert_eq!(secret.expose_secret(), CORP_SECRET);
    logs.assert_no_secret();
}

#[tokio::test]
async fn codes_missing() {
    let (err, _) = exchange_fails(|_| json("200 OK", r#"{"err_msg": "no code"}"#)).await;
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("missing field")),
        "{err:?}"
    );
    // WeCom: an absent errcode means success.
    let (result, _) = auth_info(|_| json("200 OK", "{}")).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn negative_and_huge_codes() {
    let (err, requests) = exchange_fails(|_| json("200 OK", r#"{"err_code": -5, "err_msg": "negative"}"#)).await;
    assert!(
        matches!(
            err,
            Error::Platform {
                code: -5,
                meaning: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(requests, 1);
    let (err, _) = exchange_fails(|_| json("200 OK", r#"{"err_code": 99999999999999999999, "err_msg": "x"}"#)).await;
    assert!(
        matches!(err, Error::Decode { .. }),
        "a code beyond i64 is not guessed: {err:?}"
    );
    let (result, requests) = auth_info(|_| json("200 OK", r#"{"errcode": -1, "errmsg": "system busy"}"#)).await;
    assert!(matches!(result, Err(Error::Platform { code: -1, .. })), "{result:?}");
    assert_eq!(requests, 3, "-1 is retried");
}

#[tokio::test]
async fn err_code_as_a_string() {
    let (err, _) = exchange_fails(|_| json("200 OK", r#"{"err_code": "40006", "err_msg": "预授权码过期"}"#)).await;
    assert!(matches!(err, Error::Platform { code: 40006, .. }), "{err:?}");
}

#[tokio::test]
async fn duplicate_keys_never_read_as_success() {
    let body = format!(r#"{{"err_code": 0, "err_code": 40006, "err_msg": "x", "corp_secret": "{CORP_SECRET}"}}"#);
    let (err, _) = exchange_fails(move |_| json("200 OK", &body)).await;
    assert!(matches!(err, Error::Platform { code: 40006, .. }), "{err:?}");
    let body = format!(r#"{{"err_code": 40006, "err_code": 0, "err_msg": "x", "corp_secret": "{CORP_SECRET}"}}"#);
    let (err, _) = exchange_fails(move |_| json("200 OK", &body)).await;
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("duplicate")),
        "{err:?}"
    );
}

#[tokio::test]
async fn deeply_nested_json_does_not_overflow_the_stack() {
    let body = format!(
        r#"{{"err_code": 0, "extra": {}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (err, _) = exchange_fails(move |_| json("200 OK", &body)).await;
    // serde skips the unknown field without recursing; the envelope reader
    // stops at its recursion limit. Either way: a clean decode error.
    assert!(matches!(&err, Error::Decode { .. }), "{err:?}");
    let body = format!(
        r#"{{"errcode": 0, "x": {}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (result, _) = auth_info(move |_| json("200 OK", &body)).await;
    assert!(result.is_ok(), "an unknown deep field is ignored: {result:?}");
}

// --- HTTP statuses ----------------------------------------------------------

#[tokio::test]
async fn an_html_502() {
    let page = format!("<html><h1>502 Bad Gateway</h1>GET ?temp_corp_secret={TEMP_CORP_SECRET}</html>");
    let page2 = page.clone();
    let (err, requests) =
        exchange_fails(move |_| response("502 Bad Gateway", &[("content-type", "text/html")], page.as_bytes())).await;
    assert!(
        matches!(
            err,
            Error::Http {
                status: 502,
                code: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        requests, 1,
        "the exchange is not retried after it may have been processed"
    );
    let (result, requests) =
        auth_info(move |_| response("502 Bad Gateway", &[("content-type", "text/html")], page2.as_bytes())).await;
    assert!(matches!(result, Err(Error::Http { status: 502, .. })), "{result:?}");
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn statuses_401_403_404_500_with_json_envelopes() {
    for (status, code) in [
        ("401 Unauthorized", 40001),
        ("403 Forbidden", 48002),
        ("404 Not Found", 40000),
        ("500 Internal Server Error", 50000),
    ] {
        let body = format!(r#"{{"err_code": {code}, "errcode": {code}, "err_msg": "x"}}"#);
        let number: u16 = status[..3].parse().unwrap();
        let b2 = body.clone();
        let (err, requests) = exchange_fails(move |_| json(status, &body)).await;
        assert!(
            matches!(err, Error::Http { status: s, code: Some(c), .. } if s == number && c == code),
            "{err:?}"
        );
        assert_eq!(requests, 1);
        let (result, requests) = auth_info(move |_| json(status, &b2)).await;
        assert!(
            matches!(result, Err(Error::Http { status: s, .. }) if s == number),
            "{result:?}"
        );
        assert_eq!(requests, 1, "{status} is not retried");
    }
}

#[tokio::test]
async fn a_503_then_success_is_retried_for_a_read() {
    let ok = r#"{"errcode": 0, "auth_corp_info": {"corpid": "ww1"}}"#;
    let (result, requests) = auth_info(move |n| {
        if n < 2 {
            json("503 Service Unavailable", "{}")
        } else {
            json("200 OK", ok)
        }
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn retry_after_is_honoured_when_sane_and_stops_retries_when_not() {
    let started = Instant::now();
    let (result, requests) = auth_info(|n| {
        if n == 0 {
            response("429 Too Many Requests", &[("retry-after", "1")], b"{}")
        } else {
            json("200 OK", "{}")
        }
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(requests, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    let (result, requests) =
        auth_info(|_| response("503 Service Unavailable", &[("retry-after", "3600")], b"{}")).await;
    assert!(
        matches!(result, Err(Error::Http { status: 503, retry_after: Some(d), .. }) if d.as_secs() == 3600),
        "{result:?}"
    );
    assert_eq!(requests, 1, "an hour is more patience than the policy has");
}

#[tokio::test]
async fn a_307_to_another_server_is_not_followed() {
    let other = RawServer::start(|_| ok_exchange()).await;
    let location = format!("{}/corp-service/v1/corp-secrets", other.url);
    let (err, requests) =
        exchange_fails(move |_| response("307 Temporary Redirect", &[("location", &location)], b"")).await;
    assert!(matches!(err, Error::Http { status: 307, .. }), "{err:?}");
    assert_eq!(requests, 1);
    assert_eq!(other.accepted(), 0, "the other server must see nothing");
}

#[tokio::test]
async fn a_redirect_loop_is_not_followed() {
    let (result, requests) =
        auth_info(|_| response("302 Found", &[("location", "/cgi-bin/service/get_auth_info")], b"")).await;
    assert!(matches!(result, Err(Error::Http { status: 302, .. })), "{result:?}");
    assert_eq!(requests, 1);
}

// --- size and time bounds ---------------------------------------------------

#[tokio::test]
async fn a_declared_256_mib_body_is_refused_unread() {
    let (err, requests) = exchange_fails(|_| Reply::Huge {
        total: 256 << 20,
        declare_length: true,
    })
    .await;
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 1_048_576, .. }),
        "{err:?}"
    );
    assert!(err.request_may_have_been_processed() && !err.is_retryable());
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn an_undeclared_256_mib_body_is_cut_at_the_limit() {
    let (result, requests) = auth_info(|_| Reply::Huge {
        total: 256 << 20,
        declare_length: false,
    })
    .await;
    assert!(matches!(result, Err(Error::ResponseTooLarge { .. })), "{result:?}");
    assert_eq!(requests, 1, "not retried");
}

#[tokio::test]
async fn an_endless_chunked_body_is_cut_at_the_limit() {
    let (err, requests) = exchange_fails(|_| Reply::Endless).await;
    assert!(matches!(err, Error::ResponseTooLarge { .. }), "{err:?}");
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn a_slow_drip_is_bounded_by_the_total_timeout() {
    let started = Instant::now();
    let (err, requests) = exchange_fails(|_| Reply::Drip {
        every: Duration::from_millis(50),
    })
    .await;
    assert_eq!(transport_kind(&err), Some(TransportKind::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(requests, 1);
}

// --- retries of the one-shot exchange ---------------------------------------

#[tokio::test]
async fn the_exchange_is_retried_only_when_nothing_was_sent() {
    let logs = Logs::capture();
    let err = cx(&refused_url())
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
        .unwrap_err();
    assert_eq!(transport_kind(&err), Some(TransportKind::Connect), "{err:?}");
    let text = logs.text();
    assert_eq!(text.matches("attempt failed").count(), 3, "{text}");
    assert!(text.contains("attempts=3"), "{text}");
    logs.assert_no_secret();
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let server = RawServer::start(|_| json("503 Service Unavailable", "{}")).await;
    let client = wecom::Client::builder()
        .base_url(&server.url)
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    let err = client
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn the_call_span_records_operation_attempts_status_and_code() {
    let logs = Logs::capture();
    let server = RawServer::start(|_| json("200 OK", r#"{"errcode": 40084, "errmsg": "bad code"}"#)).await;
    let err = wc(&server.url)
        .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(40084));
    let text = logs.text();
    for field in [
        "operation=\"get_auth_info\"",
        "platform=wecom",
        "attempts=1",
        "status=200",
        "code=40084",
        "outcome=\"platform_error\"",
    ] {
        assert!(text.contains(field), "{field} missing in:\n{text}");
    }
    logs.assert_no_secret();
}

#[tokio::test]
async fn a_404_from_a_wrong_base_url_points_at_the_base_url_and_stays_conservative() {
    // The real route is under /api; the client is given the server's root,
    // as a user who dropped 橙讯's path stem would.
    let server = httpmock::MockServer::start_async().await;
    let route = server
        .mock_async(|when, then| {
            when.path("/api/corp-service/v1/corp-secrets");
            then.status(200).body("{}");
        })
        .await;
    let err = cx(&server.base_url())
        .exchange_corp_secret(CORP_ID, CORP_AUTHORIZATION, TEMP_CORP_SECRET)
        .await
        .unwrap_err();
    assert_no_secret(&err);
    assert!(matches!(err, Error::Http { status: 404, .. }), "{err:?}");
    assert_eq!(route.calls_async().await, 0);
    let message = err.to_string();
    assert!(
        message.contains("the server has no such route: check the base URL (the spec's is https://service.cheng-xun.cn/api; a base URL missing its path stem, such as 橙讯's `/api`, answers exactly this)"),
        "{message}"
    );
    assert!(message.contains("most likely never saw the call"), "{message}");
    // The guarantee stays conservative: the library still treats the
    // temp_corp_secret as possibly consumed and never re-sends it.
    assert!(err.request_may_have_been_processed());
    assert!(!err.is_retryable());
    // A read gets the pointer without the one-shot part; other statuses keep
    // the one-shot warning unchanged.
    let (result, _) = auth_info(|_| json("404 Not Found", "not found")).await;
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("no such route") && message.contains("https://qyapi.weixin.qq.com"),
        "{message}"
    );
    assert!(!message.contains("never saw the call"), "{message}");
    let (err, _) = exchange_fails(|_| json("500 Internal Server Error", "oops")).await;
    assert!(!err.to_string().contains("no such route"), "{err}");
    assert!(
        err.to_string().contains("the temp_corp_secret may have been consumed"),
        "{err}"
    );
}
