//! Raw calls: a request to a path the spec does not have yet, sent like a
//! generated call (the client's base URL, hooks, body cap, retry policy and
//! in-flight cap; the platform's error envelope; redaction), decoded into the
//! caller's own type. Platform-agnostic: the platform modules put it on
//! their managed types.

use progenitor_client::{ClientInfo, ResponseValue};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::Hooks;
use crate::response::{Call, describe_json_error};
use crate::{Error, Secret};

/// A raw request: method, path (below the base URL), the caller's query
/// pairs and JSON body. The credential is added when it is sent.
pub(crate) struct RawRequest<'a> {
    pub(crate) method: reqwest::Method,
    pub(crate) path: &'a str,
    pub(crate) query: &'a [(&'a str, &'a str)],
    pub(crate) body: Option<Value>,
}

impl RawRequest<'_> {
    /// Refuses a path that could leave the base URL or smuggle a query,
    /// and a query that sets the credential itself; nothing is sent.
    pub(crate) fn check(&self, credential: &str) -> Result<(), Error> {
        let invalid = |parameter: &'static str, rule: &str| Error::InvalidInput {
            parameter,
            rule: rule.to_string(),
        };
        let path = self.path;
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(invalid(
                "path",
                "must start with a single `/` (a path below the base URL, such as `/cgi-bin/agent/get`)",
            ));
        }
        if path.len() > 1024 || path.contains(['?', '#', ' ', '\\']) || path.chars().any(char::is_control) {
            return Err(invalid(
                "path",
                "must be at most 1024 bytes, without `?`, `#`, spaces or backslashes (give query pairs separately)",
            ));
        }
        if path.split('/').any(|segment| segment == ".." || segment == ".") {
            return Err(invalid("path", "must not contain `.` or `..` segments"));
        }
        if self.query.iter().any(|(key, _)| key.is_empty()) {
            return Err(invalid("query", "keys must not be empty"));
        }
        if self.query.iter().any(|(key, _)| *key == credential) {
            return Err(Error::InvalidInput {
                parameter: "query",
                rule: format!("must not set `{credential}`: the managed credential is added by the library"),
            });
        }
        Ok(())
    }

    /// Sends it with `credential` (as the query parameter `credential_name`)
    /// through `api` (a generated client: its base URL, HTTP client and
    /// hooks), with `call`'s retries and error handling.
    pub(crate) async fn send<T, C>(
        &self,
        api: &C,
        call: &Call<'_>,
        credential_name: &str,
        credential: &Secret,
    ) -> Result<T, Error>
    where
        T: DeserializeOwned,
        C: ClientInfo<Hooks>,
    {
        let url = format!("{}{}", api.baseurl(), self.path);
        let send = || async {
            let mut builder = api
                .client()
                .request(self.method.clone(), &url)
                .query(&[(credential_name, credential.expose_secret())])
                .query(self.query);
            if let Some(body) = &self.body {
                builder = builder.json(body);
            }
            let mut request = builder
                .build()
                .map_err(|e| progenitor_client::Error::InvalidRequest(e.without_url().to_string()))?;
            api.inner().pre(&mut request);
            let response = api
                .client()
                .execute(request)
                .await
                .map_err(progenitor_client::Error::CommunicationError)?;
            let response = api.inner().capped(response);
            if response.status() == reqwest::StatusCode::OK {
                ResponseValue::<Value>::from_response(response).await
            } else {
                Err(progenitor_client::Error::UnexpectedResponse(response))
            }
        };
        call.run(send, |call, answer: Value| accept_value(call, answer)).await
    }
}

/// The platform's convention on a raw answer: a non-zero code in the
/// envelope is [`Error::Platform`] (whatever else the body holds); otherwise
/// the body decoded as `T`.
fn accept_value<T: DeserializeOwned>(call: &Call<'_>, answer: Value) -> Result<T, Error> {
    if let Value::Object(map) = &answer {
        let code = match map.get(call.envelope.code) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        if let Some(code) = code.filter(|c| *c != 0) {
            let message = map.get(call.envelope.message).and_then(Value::as_str);
            return Err(call.platform_error(code, message));
        }
    }
    serde_json::from_value(answer).map_err(|e| call.decode_error(describe_json_error(&e, call.sent)))
}
