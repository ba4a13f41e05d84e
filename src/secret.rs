//! [`Secret`]: the one type that holds credentials.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// A credential: `corp_authorization`, `temp_corp_secret`, `corp_secret`,
/// `suite_access_token` or `permanent_code`.
///
/// `Debug` and `Display` never show the value (`Secret(***)` and `***`);
/// [`Secret::expose_secret`] is the only way to read it, so every place that
/// does is easy to find in review. The memory is zeroed on drop.
///
/// `Serialize` writes the value: it is how the secret reaches the wire.
/// Do not serialize values that contain a `Secret` into logs.
///
/// ```
/// let s = corp_auth::Secret::new("3y50kdq9CdS9ROO4");
/// assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
/// assert_eq!(s.expose_secret(), "3y50kdq9CdS9ROO4");
/// assert_eq!(s.masked(), "3y…O4");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value. Keep the result out of logs and error messages.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Length in characters (not bytes), as the specs' length rules count.
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }

    /// True when the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A form safe to show an operator who needs to recognise the value: the
    /// first and last two characters of a value of 12 characters or more
    /// (`3y…O4`), `***` for a shorter one, where four characters would give
    /// away too much of it.
    pub fn masked(&self) -> String {
        let n = self.char_len();
        if n < 12 {
            return "***".to_string();
        }
        let head: String = self.0.chars().take(2).collect();
        let tail: String = self.0.chars().skip(n - 2).collect();
        format!("{head}…{tail}")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

impl schemars::JsonSchema for Secret {
    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "password" })
    }
}
