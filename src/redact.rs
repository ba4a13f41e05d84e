//! Redaction of text that comes from a server (error bodies, messages)
//! before the crate stores or prints it.
//!
//! Two nets: the exact secrets this call sent (raw, form-encoded and
//! JSON-escaped, as a server may echo them), and the value after any
//! secret-bearing key (`corp_secret=...`, `"permanent_code": "..."`), which
//! also catches secrets the caller never had, such as a fresh `corp_secret`.
//!
//! Short values: a sent value of fewer than [`MIN_ANYWHERE`] characters is
//! replaced only where it stands as a whole token (not inside a word or a
//! number). Replacing it everywhere would mangle ordinary text
//! (`Inv***lid request` for a secret `a`) and, worse, show where the
//! secret's letters occur. Real secrets are far longer (WeCom's and 橙讯's
//! are 32 characters or more); a value that short is a test value or a
//! mistake, and the key net still masks it after its own key.

/// Keys whose values are secrets wherever they appear: every secret input
/// and answer field of the specs (`format: password`), generated.
use crate::operation::SECRET_KEYS;

const MASK: &str = "***";

/// Sent values at least this long are masked wherever they occur; shorter
/// ones only as whole tokens.
pub(crate) const MIN_ANYWHERE: usize = 8;

/// Redacts `text`, given the secrets the call sent.
pub(crate) fn redact(text: &str, sent: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in sent.iter().filter(|s| !s.is_empty()) {
        let anywhere = secret.chars().count() >= MIN_ANYWHERE;
        for form in [secret.to_string(), form_encode(secret), json_escape(secret)] {
            if !out.contains(&form) {
                continue;
            }
            out = if anywhere {
                out.replace(&form, MASK)
            } else {
                replace_whole_tokens(&out, &form)
            };
        }
    }
    for key in SECRET_KEYS {
        out = redact_key(&out, key);
    }
    out
}

/// Replaces the occurrences of `needle` that are not part of a longer word
/// or number (no letter or digit right before or after).
fn replace_whole_tokens(text: &str, needle: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let before = rest[..at].chars().next_back().or_else(|| out.chars().next_back());
        let after = rest[at + needle.len()..].chars().next();
        out.push_str(&rest[..at]);
        if word(before) || word(after) {
            out.push_str(needle);
        } else {
            out.push_str(MASK);
        }
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// Replaces the value after each `key=`, `key:`, `"key": "` ... with `***`.
fn redact_key(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let after_key = at + key.len();
        // The key itself, not the end of a longer name (`code` in
        // `errcode`).
        let before = rest[..at].chars().next_back().or_else(|| out.chars().next_back());
        let inside_name = before.is_some_and(|c| c.is_alphanumeric() || c == '_');
        out.push_str(&rest[..after_key]);
        rest = &rest[after_key..];
        if inside_name {
            continue;
        }
        // `key"` (JSON), then spaces, then `=` or `:`, then spaces and quotes.
        let sep = rest.trim_start_matches(['"', '\'']).trim_start();
        let Some(value) = sep.strip_prefix(['=', ':']) else {
            continue;
        };
        let value = value.trim_start_matches([' ', '\t', '"', '\'', '\\']);
        let end = value
            .find(|c: char| matches!(c, '&' | '"' | '\'' | '<' | '>' | ',' | '}' | '\\') || c.is_whitespace())
            .unwrap_or(value.len());
        if end == 0 {
            continue;
        }
        let value_start = rest.len() - value.len();
        out.push_str(&rest[..value_start]);
        out.push_str(MASK);
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// `application/x-www-form-urlencoded`, as the query string carries it.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted.trim_matches('"').to_string()
}

/// A short, single-line, redacted excerpt of a body.
pub(crate) fn excerpt(body: &[u8], sent: &[&str], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let redacted = redact(&text, sent);
    let collapsed = redacted.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = collapsed.chars();
    let mut out: String = chars.by_ref().take(max_chars).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_sent_secrets_in_raw_form_and_json_forms() {
        let sent = ["s3cr et/é"];
        let text = "a s3cr et/é b s3cr+et%2F%C3%A9 c";
        assert_eq!(redact(text, &sent), "a *** b *** c");
    }

    #[test]
    fn a_short_sent_value_is_masked_only_as_a_whole_token() {
        // Inside words it is left alone: masking there would mangle the text
        // and show where the value's letters occur.
        assert_eq!(redact("Invalid request", &["a"]), "Invalid request");
        assert_eq!(redact("abcdef 1234", &["abc", "23"]), "abcdef 1234");
        // Standing alone (or next to punctuation) it is masked.
        assert_eq!(
            redact("token a rejected; code=abc, (abc) abcd", &["a", "abc"]),
            "token *** rejected; code=***, (***) abcd"
        );
        assert_eq!(redact("abc", &["abc"]), "***");
        assert_eq!(redact("密abc码", &["abc"]), "密abc码");
        // Seven characters: still short; eight: masked anywhere.
        assert_eq!(redact("xx1234567yy", &["1234567"]), "xx1234567yy");
        assert_eq!(redact("xx12345678yy", &["12345678"]), "xx***yy");
    }

    #[test]
    fn redacts_values_after_secret_keys() {
        let text =
            r#"{"corp_secret": "abc123", "err_msg":"x"} GET /x?corp_id=1&temp_corp_secret=zzz&b=2 permanent_code: qq"#;
        assert_eq!(
            redact(text, &[]),
            r#"{"corp_secret": "***", "err_msg":"x"} GET /x?corp_id=1&temp_corp_secret=***&b=2 permanent_code: ***"#
        );
    }

    #[test]
    fn excerpt_is_single_line_and_bounded() {
        let body = b"<html>\n  <body>Bad   Gateway</body>\n</html>";
        assert_eq!(excerpt(body, &[], 20), "<html> <body>Bad Gat…");
    }
}
