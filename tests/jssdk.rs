//! JS-SDK signatures against WeCom's own test vectors (page 96909, and the
//! older MP copy of the same algorithm), computed independently here with
//! the `sha1` crate over the documented string.

use corp_auth::Secret;
use corp_auth::wecom::jssdk::sign;
use sha1::{Digest, Sha1};

const TICKET: &str = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg";
const NONCE: &str = "Wm3WZYTPz0wzccnW";
const TIMESTAMP: i64 = 1414587457;

#[test]
fn the_official_vectors() {
    assert_eq!(
        sign(TICKET, NONCE, TIMESTAMP, "http://mp.weixin.qq.com?params=value"),
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    );
    assert_eq!(
        sign(TICKET, NONCE, TIMESTAMP, "http://mp.weixin.qq.com"),
        "f4d90daf4b3bca3078ab155816175ba34c443a7b"
    );
}

#[test]
fn the_fragment_is_not_signed() {
    let expected = "0f9de62fce790f9a083d5c99e95740ceb90c27ed";
    assert_eq!(
        sign(TICKET, NONCE, TIMESTAMP, "http://mp.weixin.qq.com?params=value#/a/b"),
        expected
    );
    assert_eq!(
        sign(TICKET, NONCE, TIMESTAMP, "http://mp.weixin.qq.com?params=value#"),
        expected
    );
}

#[test]
fn a_managed_ticket_signs_like_its_text() {
    let secret = Secret::new(TICKET.to_string());
    let owned = TICKET.to_string();
    let expected = sign(TICKET, NONCE, TIMESTAMP, "http://mp.weixin.qq.com");
    assert_eq!(sign(&secret, NONCE, TIMESTAMP, "http://mp.weixin.qq.com"), expected);
    assert_eq!(sign(secret, NONCE, TIMESTAMP, "http://mp.weixin.qq.com"), expected);
    assert_eq!(sign(&owned, NONCE, TIMESTAMP, "http://mp.weixin.qq.com"), expected);
}

#[test]
fn nothing_is_url_encoded_and_the_order_is_fixed() {
    // A URL with characters an encoder would touch: the documented string,
    // signed by hand, must match.
    let url = "https://isv.example/页面?a=1&b=空 格";
    let string = format!("jsapi_ticket={TICKET}&noncestr={NONCE}&timestamp={TIMESTAMP}&url={url}");
    let by_hand: String = Sha1::digest(string.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sign(TICKET, NONCE, TIMESTAMP, url), by_hand);
}
