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

/// What a page passes to `ww.register`'s `getConfigSignature` /
/// `wx.config` ([`Corp::js_sign`]) or to `wx.agentConfig`
/// ([`Corp::js_agent_sign`]): the timestamp and nonce the signature was made
/// with, and the signature. Serializes with the names the JS-SDK takes
/// (`timestamp`, `nonceStr`, `signature`), so it can be handed to the page
/// as JSON.
///
/// [`Corp::js_sign`]: super::Corp::js_sign
/// [`Corp::js_agent_sign`]: super::Corp::js_agent_sign
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PageSignature {
    /// Unix seconds.
    pub timestamp: i64,
    /// The random string signed (16 letters and digits).
    pub nonce_str: String,
    /// The lowercase hex SHA-1 signature ([`sign`]).
    pub signature: String,
}

impl PageSignature {
    /// Signs page `url` with `ticket` now, with a fresh random nonce.
    pub fn new(ticket: impl Ticket, url: &str) -> Result<Self, crate::Error> {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let nonce_str = nonce()?;
        let signature = sign(ticket, &nonce_str, timestamp, url);
        Ok(Self {
            timestamp,
            nonce_str,
            signature,
        })
    }
}

/// 16 random letters and digits from the operating system's generator.
fn nonce() -> Result<String, crate::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(16);
    while out.len() < 16 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| crate::Error::Config {
            setting: "random",
            reason: format!("the operating system's random generator failed: {e}"),
        })?;
        // Below 248 = 4 × 62 the modulo keeps every character equally likely.
        let wanted = 16 - out.len();
        out.extend(
            bytes
                .iter()
                .filter(|b| **b < 248)
                .take(wanted)
                .map(|b| char::from(ALPHABET[usize::from(*b) % 62])),
        );
    }
    Ok(out)
}

impl super::Corp {
    /// The signature of page `url` for `ww.register`'s
    /// `getConfigSignature` / `wx.config`: signed with the corp's managed
    /// [`jsapi_ticket`](super::Corp::jsapi_ticket) now, with a fresh nonce.
    /// `url` is the page's full URL (a `#fragment` is left out).
    ///
    /// ```no_run
    /// # async fn run(corp: corp_auth::wecom::Corp) -> Result<(), corp_auth::Error> {
    /// let page = corp.js_sign("https://app.example.com/h5/index.html?from=menu").await?;
    /// println!("{} {} {}", page.timestamp, page.nonce_str, page.signature);
    /// # Ok(()) }
    /// ```
    pub async fn js_sign(&self, url: &str) -> Result<PageSignature, crate::Error> {
        PageSignature::new(self.jsapi_ticket().await?, url)
    }

    /// The signature of page `url` for `wx.agentConfig`: signed with the
    /// app's managed [`agent_config_ticket`](super::Corp::agent_config_ticket)
    /// now, with a fresh nonce.
    pub async fn js_agent_sign(&self, url: &str) -> Result<PageSignature, crate::Error> {
        PageSignature::new(self.agent_config_ticket().await?, url)
    }
}
