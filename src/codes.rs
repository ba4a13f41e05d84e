//! The platforms' error-code catalogs (from their error-code pages, cited
//! per entry). One table per platform
//! is the single source of truth for meanings and retryability.

use std::fmt;

/// The platform a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// 橙讯 (Cheng-Xun) open platform, 组织服务对接.
    Chengxun,
    /// WeCom (企业微信), third-party service-provider APIs.
    Wecom,
}

impl Platform {
    /// The platform's catalog, in ascending code order.
    pub fn catalog(self) -> &'static [CodeInfo] {
        match self {
            Platform::Chengxun => CHENGXUN,
            Platform::Wecom => WECOM,
        }
    }

    /// The catalog entry for `code`, if the platform documents it.
    pub fn code_info(self, code: i64) -> Option<&'static CodeInfo> {
        let catalog = self.catalog();
        catalog
            .binary_search_by_key(&code, |info| info.code)
            .ok()
            .map(|i| &catalog[i])
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::Chengxun => "chengxun",
            Platform::Wecom => "wecom",
        })
    }
}

/// One documented error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The number, as `err_code` (橙讯) or `errcode` (WeCom) carries it.
    pub code: i64,
    /// The meaning as the platform writes it.
    pub meaning: &'static str,
    /// Whether the same call may succeed if sent again later (the platform
    /// was busy or rate limiting, and did not act on the request).
    pub retryable: bool,
    /// A rate limit that blocks the caller for a while: the managed types
    /// refuse calls of this kind locally for this long (across instances),
    /// rather than call into the block.
    pub cool_down: Option<std::time::Duration>,
}

const fn c(code: i64, meaning: &'static str, retryable: bool) -> CodeInfo {
    CodeInfo {
        code,
        meaning,
        retryable,
        cool_down: None,
    }
}

/// A rate-limit code: WeCom blocks the caller for a minute (per-minute
/// limits) or an hour (per-hour limits, 2,000 errors in an hour); a probe
/// once a minute costs one call per minute, not a storm.
const fn rate_limited(code: i64, meaning: &'static str) -> CodeInfo {
    CodeInfo {
        code,
        meaning,
        retryable: false,
        cool_down: Some(std::time::Duration::from_secs(60)),
    }
}

/// 橙讯 组织服务对接 error codes.
static CHENGXUN: &[CodeInfo] = &[
    c(0, "成功", false),
    c(40000, "无效的请求", false),
    c(40001, "无效的鉴权", false),
    c(40004, "token无效", false),
    c(40005, "token过期", false),
    c(40006, "预授权码过期", false),
    c(40007, "永久授权码已存在", false),
    c(40008, "没有通讯录读取权限", false),
    c(40009, "没有通讯录写入权限", false),
    // A server fault: whether the request was acted on is unknown, so it is
    // not retryable (the exchange is one-shot).
    c(50000, "服务器异常", false),
    c(50100, "无效的corp_id", false),
    c(50101, "企业已停用", false),
    c(50701, "没有新的通讯录更新", false),
    c(50702, "增量数据太多,需要全量更新", false),
    c(50790, "更新通讯录参数异常", false),
    // Rejected by the rate limiter before being acted on.
    c(55001, "超出请求频率限制", true),
];

/// WeCom global error codes relevant to the service-provider APIs.
static WECOM: &[CodeInfo] = &[
    c(-1, "系统繁忙", true),
    c(0, "请求成功", false),
    c(40001, "不合法的secret参数", false),
    c(40003, "不合法的UserID", false),
    c(40013, "不合法的CorpID", false),
    c(40014, "不合法的access_token", false),
    c(40029, "不合法的oauth_code", false),
    c(40056, "不合法的agentid", false),
    c(40058, "不合法的参数", false),
    c(40068, "不合法的标签ID", false),
    c(40077, "不合法的pre_auth_code参数", false),
    c(40078, "不合法的auth_code参数", false),
    c(40080, "不合法的suite_secret", false),
    c(40082, "不合法的suite_token", false),
    c(40083, "不合法的suite_id", false),
    c(40084, "不合法的permanent_code参数", false),
    c(40085, "不合法的的suite_ticket参数", false),
    // A suite token sent to a corp API lands here: not a refresh case.
    c(
        40093,
        "jsapi签名错误 (check the ticket and that the URL has no #…; sign the URL the page is at)",
        false,
    ),
    c(41001, "缺少access_token参数", false),
    c(41022, "缺少suite_access_token参数", false),
    c(41023, "缺少suite_ticket参数", false),
    c(41025, "缺少permanent_code参数", false),
    c(42001, "access_token已过期", false),
    c(42007, "pre_auth_code已过期", false),
    c(42009, "suite_access_token已过期", false),
    c(
        42012,
        "jsapi_ticket不可用 (agentConfig must be signed with the app ticket: Corp::js_agent_sign)",
        false,
    ),
    c(44004, "文本消息content参数为空", false),
    // A quota (per minute/hour/day), not a momentary condition: retrying
    // soon does not help; calls of this kind cool down.
    rate_limited(45009, "接口调用超过限制"),
    rate_limited(45011, "API调用太频繁，请稍候再试"),
    c(45033, "接口并发调用超过限制", true),
    c(46004, "指定的用户不存在", false),
    c(48002, "API接口无权限调用", false),
    c(48003, "不合法的suite_id", false),
    c(48004, "授权关系无效", false),
    c(48005, "API接口已废弃", false),
    c(48006, "接口权限被收回", false),
    c(50001, "redirect_url未登记可信域名", false),
    c(50002, "成员不在权限范围", false),
    c(60003, "部门ID不存在", false),
    c(60011, "指定的成员/部门/标签参数无权限", false),
    c(60020, "不安全的访问IP", false),
    c(60111, "UserID不存在", false),
    c(60123, "无效的部门id", false),
    c(81013, "UserID、部门ID、标签ID全部非法或无权限", false),
    c(82001, "指定的成员/部门/标签全部为空", false),
    c(84014, "成员票据过期", false),
    c(84015, "成员票据无效", false),
    c(91040, "获取ticket的类型无效", false),
    c(301002, "无权限操作指定的应用", false),
    // 接口许可. 701030 is on an official page (97188); the other texts come
    // from a copy of the global error page (zsmhub/workweixin
    // apis/api_error.go) and their wording is unconfirmed. The part after
    // the dash is what to do.
    c(701001, "不是license基础帐号", false),
    c(701002, "不合法的license帐号", false),
    c(
        701003,
        "激活码已绑定 — read it with get_active_info_by_code: a repeated activation may land here",
        false,
    ),
    c(701004, "激活码未绑定", false),
    c(701005, "无效的license订单", false),
    c(701006, "不合法的帐号类型", false),
    c(701007, "不合法的license帐号类型", false),
    c(
        701008,
        "没有合法的有互通license的用户 — buy and activate a 互通账号 for the member",
        false,
    ),
    c(701010, "所有的account_code都非法", false),
    c(701011, "userid已经绑定", false),
    c(
        701012,
        "active_code 超过绑定有效期 — a code must be activated within 365 days of its creation",
        false,
    ),
    c(
        701014,
        "jobid最多关联100w个userid — start a new job (create_renew_order_job without jobid)",
        false,
    ),
    c(
        701015,
        "没有第三方或者代开发授权，不允许下单 — the corp must have installed the app",
        false,
    ),
    c(701016, "帐号未激活或者已经过期", false),
    c(701017, "帐号30天内迁移过 — transfer again after 30 days", false),
    c(
        701018,
        "迁移帐号重叠 — the receiver may only have 20 days or less left of the same type",
        false,
    ),
    c(701019, "用户userid非法或者跨企业", false),
    c(701020, "有重复的userid", false),
    c(701021, "非法的激活码", false),
    c(
        701022,
        "激活码还在生成中 — codes are generated after payment: try again later",
        false,
    ),
    c(701023, "有重复的激活码", false),
    c(
        701024,
        "批量操作全部失败了 — see each item's errcode in the answer",
        false,
    ),
    c(701025, "批量操作传了空列表", false),
    c(701026, "列表数量超过最大值 — at most 1000 items per call", false),
    c(701030, "激活码叠加后有效期超过5年", false),
    c(
        701082,
        "旧码剩余时长超过20天 — stack a new code only when the old one has 20 days or less left",
        false,
    ),
    c(
        701083,
        "订单未支付 — pay it in the 服务商管理端 (or submit_pay_job), then list_order_account",
        false,
    ),
    c(
        701084,
        "订单不是未支付状态 — only unpaid, unexpired orders can be cancelled",
        false,
    ),
    c(701086, "订单不属于该企业", false),
    c(701087, "企业没有安装互通权限应用", false),
    c(701088, "用户不在应用可见范围", false),
    c(701089, "用户不在互通应用可见范围", false),
    // As a `support_policy_query` reason 701090 means something else
    // (认证/验证状态不符合): that list is a namespace of its own.
    c(701090, "续期订单中全部账号的续期天数都等于0", false),
    c(
        701099,
        "用户没有有效的接口许可 — activate a licence for the member (active_account)",
        false,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_are_sorted_and_unique_so_lookup_finds_every_entry() {
        for platform in [Platform::Chengxun, Platform::Wecom] {
            let catalog = platform.catalog();
            assert!(catalog.windows(2).all(|w| w[0].code < w[1].code), "{platform}");
            for info in catalog {
                assert_eq!(platform.code_info(info.code), Some(info));
            }
        }
        assert_eq!(Platform::Wecom.code_info(12345), None);
    }
}
