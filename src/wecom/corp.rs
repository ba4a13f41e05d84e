//! [`Corp`]: one installed corp of a [`Suite`], with its managed
//! `access_token`; the corp-token operations of the spec are generated on it.

use std::fmt;

use super::{Client, Suite};
use crate::{Error, Operation, Secret};

/// A corp that installed the suite: its corpid, its `permanent_code` and a
/// managed corp `access_token` (from `get_corp_token`, or `gettoken` for a
/// 代开发 template suite). Get one from [`Suite::corp`].
///
/// The corp-token operations of `openapi/wecom.yaml` are methods of `Corp`
/// (generated): the admin list, ID conversion and the corp's contacts
/// (`get_user`, `list_department_members`, `list_departments`, …; the
/// `wecom` module lists them all). Each gets the token, and when WeCom
/// rejects it (40001, 40014, 42001) drops it, refreshes once and replays
/// once (a one-shot call never).
///
/// Cheap to clone. `Debug` never shows the permanent code or a token.
///
/// ```no_run
/// # async fn run(suite: corp_auth::wecom::Suite) -> Result<(), corp_auth::Error> {
/// let corp = suite.corp("wwcorpid", "permanent-code");
/// let admins = corp.get_admin_list().await?;
/// let ids = corp.userid_to_openuserid(&["zhangsan".to_string()]).await?;
/// let user = corp.get_user("zhangsan").await?;
/// let departments = corp.list_departments().id(1).await?;
/// # let _ = (admins, ids, user, departments); Ok(()) }
/// ```
#[derive(Clone)]
pub struct Corp {
    suite: Suite,
    corpid: String,
    permanent_code: Secret,
}

impl fmt::Debug for Corp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Corp")
            .field("suite_id", &self.suite.suite_id())
            .field("corpid", &self.corpid)
            .field("permanent_code", &self.permanent_code)
            .finish()
    }
}

impl Corp {
    pub(crate) fn new(suite: Suite, corpid: String, permanent_code: Secret) -> Self {
        Self {
            suite,
            corpid,
            permanent_code,
        }
    }

    /// The corp's id (case-sensitive as WeCom writes it).
    pub fn corpid(&self) -> &str {
        &self.corpid
    }

    /// The suite the corp installed.
    pub fn suite(&self) -> &Suite {
        &self.suite
    }

    /// The client the corp's calls go through (the suite's).
    pub fn client(&self) -> &Client {
        self.suite.client()
    }

    /// The corp's `access_token`: cached, refreshed before it expires,
    /// fetched once per refresh across tasks and instances
    /// ([`Suite::corp_access_token`]).
    pub async fn access_token(&self) -> Result<Secret, Error> {
        self.suite
            .corp_access_token(&self.corpid, self.permanent_code.expose_secret())
            .await
    }
}

impl crate::facade::ManagedCredential for Corp {
    /// Runs a call of `operation` with the corp's managed token; on a
    /// rejection drops it, and (unless one-shot) refreshes once and replays
    /// once. The generated methods call this.
    async fn with_credential<T, F, Fut>(&self, operation: Operation, call: F) -> Result<T, Error>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let key = self.suite.corp_key(&self.corpid)?;
        let code = self.permanent_code.expose_secret();
        self.suite
            .tokens()
            .call_with(
                operation,
                &key,
                Self::CACHED,
                || self.suite.corp_token(&self.corpid, code),
                call,
            )
            .await
    }
}

impl crate::facade::CachedValues for Corp {
    /// The JS-SDK tickets: cached per (suite, corp) under the corp token
    /// they were fetched with (the store key carries the token's version,
    /// never the token), never kept past that token, dropped with it.
    async fn cached<F, Fut>(&self, name: &'static str, fetch: F) -> Result<Secret, Error>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<super::AccessToken, Error>>,
    {
        let key = self.suite.corp_key(&self.corpid)?;
        let code = self.permanent_code.expose_secret();
        self.suite
            .tokens()
            .cached_value(
                &key,
                name,
                Self::CACHED,
                || self.suite.corp_token(&self.corpid, code),
                fetch,
            )
            .await
    }
}
