//! One client, 1,000 concurrent calls: all succeed, on a bounded number of
//! reused connections.

mod common;

use common::raw::{RawServer, keep_alive_json};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_get_auth_info_calls_reuse_connections() {
    let body = r#"{"errcode": 0, "auth_corp_info": {"corpid": "wwcorp0001"}}"#;
    let server = RawServer::start(move |_| keep_alive_json(body)).await;
    let client = wecom_client(&server.url);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let client = client.clone();
        calls.spawn(async move {
            client
                .get_auth_info(SUITE_ACCESS_TOKEN, AUTH_CORPID, PERMANENT_CODE)
                .await
        });
    }
    let mut succeeded = 0;
    while let Some(result) = calls.join_next().await {
        let info = result.unwrap().unwrap();
        assert_eq!(info.auth_corp_info.unwrap().corpid.as_deref(), Some("wwcorp0001"));
        succeeded += 1;
    }
    assert_eq!(succeeded, 1000);
    assert_eq!(server.requests(), 1000);
    // At most DEFAULT_MAX_CONCURRENT_REQUESTS (32) requests are in flight.
    // A connection goes back to hyper's idle pool a moment after its answer
    // is read, so a new request may open one more now and then (33 seen):
    // bound at twice the cap, far below one connection per call.
    let accepted = server.accepted();
    let bound = 2 * corp_auth::DEFAULT_MAX_CONCURRENT_REQUESTS;
    assert!((1..=bound).contains(&accepted), "{accepted} connections for 1000 calls");
    println!("1000 calls over {accepted} connections");
}
