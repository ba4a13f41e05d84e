//! The install link a provider sends an admin to (企业授权应用, 从服务商网站发起).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::Error;

/// WeCom's install page (document/path/90597).
const INSTALL_PAGE: &str = "https://open.work.weixin.qq.com/3rdapp/install";

/// What is escaped in a query value: everything but the unreserved
/// characters of RFC 3986.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The link that starts an install from the provider's site:
/// `https://open.work.weixin.qq.com/3rdapp/install?suite_id=…&pre_auth_code=…&redirect_uri=…&state=…`.
///
/// After the admin authorizes, WeCom redirects to
/// `redirect_uri?auth_code=…&expires_in=600&state=…`: check that `state` is
/// the one you issued (it is the CSRF defence), then exchange the `auth_code`
/// once with [`Client::get_permanent_code_v2`](super::Client::get_permanent_code_v2).
///
/// Rejected before anything is built: an empty `suite_id` or
/// `pre_auth_code`, a `redirect_uri` that is not an absolute `http(s)` URL,
/// and a `state` that is not `[a-zA-Z0-9]{0,128}` (WeCom's rule).
/// `redirect_uri` is URL-encoded once, as WeCom requires.
///
/// The link carries the `pre_auth_code`: hand it to the admin's browser,
/// don't log it.
pub fn install_url(suite_id: &str, pre_auth_code: &str, redirect_uri: &str, state: &str) -> Result<String, Error> {
    let invalid = |parameter: &'static str, rule: &str| Error::InvalidInput {
        parameter,
        rule: rule.to_string(),
    };
    if suite_id.is_empty() {
        return Err(invalid("suite_id", "must not be empty"));
    }
    if pre_auth_code.is_empty() {
        return Err(invalid("pre_auth_code", "must not be empty"));
    }
    match reqwest::Url::parse(redirect_uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {}
        _ => return Err(invalid("redirect_uri", "must be an absolute http or https URL")),
    }
    if state.len() > 128 || !state.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid("state", "must be 0 to 128 characters of [a-zA-Z0-9]"));
    }
    let enc = |v: &str| utf8_percent_encode(v, QUERY_VALUE).to_string();
    Ok(format!(
        "{INSTALL_PAGE}?suite_id={}&pre_auth_code={}&redirect_uri={}&state={}",
        enc(suite_id),
        enc(pre_auth_code),
        enc(redirect_uri),
        state
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_documented_link_with_the_redirect_encoded_once() {
        let url = install_url(
            "wwsuite01",
            "pre-CODE_1",
            "https://isv.example/wecom/installed?x=1",
            "abc123",
        )
        .unwrap();
        assert_eq!(
            url,
            "https://open.work.weixin.qq.com/3rdapp/install?suite_id=wwsuite01&pre_auth_code=pre-CODE_1\
             &redirect_uri=https%3A%2F%2Fisv.example%2Fwecom%2Finstalled%3Fx%3D1&state=abc123"
        );
    }
}
