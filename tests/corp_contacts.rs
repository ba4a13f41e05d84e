//! The authorized corp's contacts (通讯录), added to `openapi/wecom.yaml`
//! with no hand-written method: each is a `wecom::Corp` method on the
//! managed corp token. Each test asserts the exact request (method, path,
//! query, body) and the decoded official example, against a scripted WeCom
//! on loopback.

mod common;
#[path = "common/wecom_standin.rs"]
mod wecom_standin;

use corp_auth::wecom::Corp;
use corp_auth::{Credential, Error, Operation};
use serde_json::json;
use wecom_standin::StandIn;

const CORPID: &str = "wwCorpA";
const PERMANENT_CODE: &str = "SENTINEL-permanent-code-c0c0";

async fn corp(standin: &StandIn) -> Corp {
    common::ticketed_corp(common::wecom_client(&standin.url), CORPID, PERMANENT_CODE).await
}

/// The one request seen on `path`: its method, and its query without the
/// token (asserted to be the managed corp token).
fn one(standin: &StandIn, path: &str) -> (String, Vec<(String, String)>, serde_json::Value) {
    let seen = standin.seen(path);
    assert_eq!(seen.len(), 1, "{path}: {seen:?}");
    let s = &seen[0];
    assert_eq!(s.query.get("access_token").map(String::as_str), Some("corp-token-1"));
    assert!(
        !s.query.contains_key("suite_access_token"),
        "the corp token, not the suite token (WxJava #3924)"
    );
    let mut query: Vec<(String, String)> = s
        .query
        .iter()
        .filter(|(k, _)| *k != "access_token")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    query.sort();
    (s.method.clone(), query, s.body.clone())
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn get_user_reads_one_member_with_the_corp_token() {
    let standin = StandIn::start().await;
    standin.default(
        "/cgi-bin/user/get",
        json!({"errcode": 0, "errmsg": "ok", "userid": "zhangsan", "name": "zhangsan", "department": [1, 2],
               "order": [1, 2], "gender": "0", "is_leader_in_dept": [1, 0], "direct_leader": ["lisi"], "status": 1,
               "main_department": 1, "open_userid": "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "enable": 1,
               "extattr": {"attrs": [{"type": 1, "name": "网页名称", "web": {"url": "http://www.test.com", "title": "标题"}}]}}),
    );
    let corp = corp(&standin).await;
    let user = corp.get_user("zhangsan").await.unwrap();
    assert_eq!(user.userid, "zhangsan");
    assert_eq!(
        user.name.as_deref(),
        Some("zhangsan"),
        "a third-party app gets the userid as name"
    );
    assert_eq!(user.department, [1, 2]);
    assert_eq!(user.gender.as_deref(), Some("0"));
    assert_eq!(user.is_leader_in_dept, [1, 0]);
    assert_eq!(user.direct_leader, ["lisi"]);
    assert_eq!(user.status, Some(1));
    assert_eq!(user.main_department, Some(1));
    assert_eq!(user.open_userid.as_deref(), Some("woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"));
    assert_eq!(user.mobile, None);
    let attr = &user.extattr.as_ref().unwrap().attrs[0];
    assert_eq!(attr.web.as_ref().unwrap().url.as_deref(), Some("http://www.test.com"));
    let (method, query, _) = one(&standin, "/cgi-bin/user/get");
    assert_eq!(method, "GET");
    assert_eq!(query, pairs(&[("userid", "zhangsan")]));
    assert_eq!(Operation::GetUser.credential(), Some(Credential::AccessToken));
    assert!(Operation::GetUser.is_idempotent());
}

#[tokio::test]
async fn get_user_checks_the_userid_before_any_token_is_fetched() {
    let standin = StandIn::start().await;
    let corp = corp(&standin).await;
    let err = corp.get_user(&"x".repeat(65)).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { parameter: "userid", rule } if rule == "must be at most 64 characters, got 65"),
        "{err:?}"
    );
    assert!(standin.seen("/cgi-bin/service/get_corp_token").is_empty());
    assert!(standin.seen("/cgi-bin/user/get").is_empty());
}

#[tokio::test]
async fn a_rejected_corp_token_is_refreshed_once_and_the_read_replayed() {
    let standin = StandIn::start().await;
    standin.queue(
        "/cgi-bin/user/get",
        [json!({"errcode": 42001, "errmsg": "access_token expired"})],
    );
    standin.default("/cgi-bin/user/get", json!({"errcode": 0, "userid": "zhangsan"}));
    let corp = corp(&standin).await;
    assert_eq!(corp.get_user("zhangsan").await.unwrap().userid, "zhangsan");
    let tokens: Vec<String> = standin
        .seen("/cgi-bin/user/get")
        .iter()
        .map(|s| s.query["access_token"].clone())
        .collect();
    assert_eq!(tokens, ["corp-token-1", "corp-token-2"]);
}

#[tokio::test]
async fn an_error_answer_with_empty_lists_is_the_platform_error() {
    // WxJava #2154 logged exactly this: the presence of a list is no success.
    let standin = StandIn::start().await;
    standin.default(
        "/cgi-bin/tag/get",
        json!({"errcode": 60011, "errmsg": "no privilege to access/modify contact/party/agent", "userlist": [], "partylist": []}),
    );
    let err = corp(&standin).await.get_tag_members(1).await.unwrap_err();
    assert!(matches!(err, Error::Platform { code: 60011, .. }), "{err:?}");
}

#[tokio::test]
async fn list_department_members_decodes_the_official_example() {
    let standin = StandIn::start().await;
    // OFFICIAL 96259.
    standin.default(
        "/cgi-bin/user/simplelist",
        json!({"errcode":0,"errmsg":"ok","userlist":[{"userid":"zhangsan","name":"张三","department":[1,2],"open_userid":"xxxxxx"}]}),
    );
    let answer = corp(&standin).await.list_department_members(2).await.unwrap();
    let member = &answer.userlist[0];
    assert_eq!(
        (
            member.userid.as_str(),
            member.name.as_deref(),
            member.open_userid.as_deref()
        ),
        ("zhangsan", Some("张三"), Some("xxxxxx"))
    );
    assert_eq!(member.department, [1, 2]);
    let (method, query, _) = one(&standin, "/cgi-bin/user/simplelist");
    assert_eq!((method.as_str(), query), ("GET", pairs(&[("department_id", "2")])));
}

#[tokio::test]
async fn list_department_member_details_decodes_the_official_example() {
    let standin = StandIn::start().await;
    standin.default(
        "/cgi-bin/user/list",
        json!({"errcode":0,"errmsg":"ok","userlist":[{"userid":"zhangsan","name":"zhangsan","department":[1,2],"order":[1,2],
               "status":1,"english_name":"jackzhang","main_department":1,"open_userid":"xxxxxx"}]}),
    );
    let answer = corp(&standin).await.list_department_member_details(1).await.unwrap();
    let member = &answer.userlist[0];
    assert_eq!(member.english_name.as_deref(), Some("jackzhang"));
    assert_eq!((member.status, member.main_department), (Some(1), Some(1)));
    let (method, query, _) = one(&standin, "/cgi-bin/user/list");
    assert_eq!((method.as_str(), query), ("GET", pairs(&[("department_id", "1")])));
}

#[tokio::test]
async fn list_member_ids_posts_cursor_and_limit_as_setters() {
    let standin = StandIn::start().await;
    // OFFICIAL 96021.
    standin.default(
        "/cgi-bin/user/list_id",
        json!({"errcode":0,"errmsg":"ok","next_cursor":"aaaaaaaaa","dept_user":[{"open_userid":"woAAAAAAAA","department":1},
               {"open_userid":"woAAAAAAAA","department":2},{"open_userid":"woBBBBBBBB","department":2}]}),
    );
    let corp = corp(&standin).await;
    let page = corp.list_member_ids().cursor("xxxxxxx").limit(10000).await.unwrap();
    assert_eq!(page.next_cursor.as_deref(), Some("aaaaaaaaa"));
    let rows: Vec<(Option<&str>, Option<i64>)> = page
        .dept_user
        .iter()
        .map(|r| (r.open_userid.as_deref(), r.department))
        .collect();
    assert_eq!(
        rows,
        [
            (Some("woAAAAAAAA"), Some(1)),
            (Some("woAAAAAAAA"), Some(2)),
            (Some("woBBBBBBBB"), Some(2))
        ]
    );
    let (method, query, body) = one(&standin, "/cgi-bin/user/list_id");
    assert_eq!((method.as_str(), query), ("POST", vec![]));
    assert_eq!(body, json!({"cursor": "xxxxxxx", "limit": 10000}));
    // The first page: no option set, an empty object.
    corp.list_member_ids().await.unwrap();
    assert_eq!(standin.seen("/cgi-bin/user/list_id")[1].body, json!({}));
}

#[tokio::test]
async fn list_departments_sends_id_only_when_set() {
    let standin = StandIn::start().await;
    // OFFICIAL 90344.
    standin.default(
        "/cgi-bin/department/list",
        json!({"errcode":0,"errmsg":"ok","department":[{"id":2,"name":"广州研发中心","name_en":"RDGZ","department_leader":["zhangsan","lisi"],"parentid":1,"order":10},
               {"id":3,"name":"邮箱产品部","name_en":"mail","department_leader":["lisi","wangwu"],"parentid":2,"order":40}]}),
    );
    let corp = corp(&standin).await;
    let all = corp.list_departments().await.unwrap();
    assert_eq!(all.department.len(), 2);
    let d = &all.department[1];
    assert_eq!((d.id, d.parentid, d.order), (3, Some(2), Some(40)));
    assert_eq!(d.department_leader, ["lisi", "wangwu"]);
    let (method, query, _) = one(&standin, "/cgi-bin/department/list");
    assert_eq!(
        (method.as_str(), query),
        ("GET", vec![]),
        "no id=0 when unset (PowerWeChat #718)"
    );
    corp.list_departments().id(2).await.unwrap();
    assert_eq!(
        standin.seen("/cgi-bin/department/list")[1]
            .query
            .get("id")
            .map(String::as_str),
        Some("2")
    );
}

#[tokio::test]
async fn list_department_ids_and_get_department_decode_the_official_examples() {
    let standin = StandIn::start().await;
    // OFFICIAL 95406 and 95407.
    standin.default(
        "/cgi-bin/department/simplelist",
        json!({"errcode":0,"errmsg":"ok","department_id":[{"id":2,"parentid":1,"order":10},{"id":3,"parentid":2,"order":40}]}),
    );
    standin.default(
        "/cgi-bin/department/get",
        json!({"errcode":0,"errmsg":"ok","department":{"id":2,"name":"广州研发中心","name_en":"RDGZ","department_leader":["zhangsan","lisi"],"parentid":1,"order":10}}),
    );
    let corp = corp(&standin).await;
    let ids = corp.list_department_ids().id(1).await.unwrap();
    let got: Vec<(i64, Option<i64>, Option<i64>)> =
        ids.department_id.iter().map(|d| (d.id, d.parentid, d.order)).collect();
    assert_eq!(got, [(2, Some(1), Some(10)), (3, Some(2), Some(40))]);
    let department = corp.get_department(2).await.unwrap().department;
    assert_eq!((department.id, department.name.as_deref()), (2, Some("广州研发中心")));
    let (method, query, _) = one(&standin, "/cgi-bin/department/simplelist");
    assert_eq!((method.as_str(), query), ("GET", pairs(&[("id", "1")])));
    let (method, query, _) = one(&standin, "/cgi-bin/department/get");
    assert_eq!((method.as_str(), query), ("GET", pairs(&[("id", "2")])));
}

#[tokio::test]
async fn list_tags_and_get_tag_members_decode_the_official_examples() {
    let standin = StandIn::start().await;
    // OFFICIAL 90352 and 90349.
    standin.default(
        "/cgi-bin/tag/list",
        json!({"errcode":0,"errmsg":"ok","taglist":[{"tagid":1,"tagname":"a"},{"tagid":2,"tagname":"b"}]}),
    );
    standin.default(
        "/cgi-bin/tag/get",
        json!({"errcode":0,"errmsg":"ok","tagname":"乒乓球协会","userlist":[{"userid":"zhangsan","name":"李四"}],"partylist":[2]}),
    );
    let corp = corp(&standin).await;
    let tags = corp.list_tags().await.unwrap();
    let got: Vec<(i64, Option<&str>)> = tags.taglist.iter().map(|t| (t.tagid, t.tagname.as_deref())).collect();
    assert_eq!(got, [(1, Some("a")), (2, Some("b"))]);
    let members = corp.get_tag_members(1).await.unwrap();
    assert_eq!(members.tagname.as_deref(), Some("乒乓球协会"));
    assert_eq!(members.userlist[0].userid, "zhangsan");
    assert_eq!(members.partylist, [2]);
    let (method, query, _) = one(&standin, "/cgi-bin/tag/list");
    assert_eq!((method.as_str(), query), ("GET", vec![]));
    let (method, query, _) = one(&standin, "/cgi-bin/tag/get");
    assert_eq!((method.as_str(), query), ("GET", pairs(&[("tagid", "1")])));
}
