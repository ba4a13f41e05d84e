//! JS-SDK signatures (JS-SDK 签名算法, WeCom's page 96909): what a page passes
//! to `ww.register`'s `getConfigSignature` / `wx.config` (signed with the
//! corp's `jsapi_ticket`) and to `wx.agentConfig` (signed with the app's
//! `agent_config` ticket).
//!
//! The signature is the lowercase hex SHA-1 of
//! `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`, in exactly this order, with
//! nothing URL-encoded; `timestamp` is in seconds, and `url` is the page's
//! URL without `#` and what follows (this function drops it).

use sha1::{Digest, Sha1};

use crate::Secret;

/// A ticket to sign with: a [`Secret`] (as the managed calls return it) or
/// a string.
pub trait Ticket {
    /// The ticket's text.
    fn ticket(&self) -> &str;
}

impl Ticket for Secret {
    fn ticket(&self) -> &str {
        self.expose_secret()
    }
}

impl Ticket for str {
    fn ticket(&self) -> &str {
        self
    }
}

impl Ticket for String {
    fn ticket(&self) -> &str {
        self
    }
}

impl<T: Ticket + ?Sized> Ticket for &T {
    fn ticket(&self) -> &str {
        (**self).ticket()
    }
}

/// The JS-SDK signature of page `url` with `ticket`, `noncestr` and
/// `timestamp` (unix seconds): lowercase hex SHA-1, exactly as WeCom computes
/// it. A `#fragment` of `url` is left out, as WeCom requires; the page must
/// be given the same `noncestr` and `timestamp`.
///
/// ```
/// // WeCom's own test vector (page 96909).
/// let signature = corp_auth::wecom::jssdk::sign(
///     "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
///     "Wm3WZYTPz0wzccnW",
///     1414587457,
///     "http://mp.weixin.qq.com?params=value#section",
/// );
/// assert_eq!(signature, "0f9de62fce790f9a083d5c99e95740ceb90c27ed");
/// ```
pub fn sign(ticket: impl Ticket, noncestr: &str, timestamp: i64, url: &str) -> String {
    let url = url.split_once('#').map_or(url, |(page, _)| page);
    let mut sha = Sha1::new();
    for part in [
        "jsapi_ticket=",
        ticket.ticket(),
        "&noncestr=",
        noncestr,
        "&timestamp=",
        &timestamp.to_string(),
        "&url=",
        url,
    ] {
        sha.update(part.as_bytes());
    }
    crate::hex::lower(&sha.finalize())
}
