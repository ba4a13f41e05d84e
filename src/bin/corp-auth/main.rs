//! `corp-auth`: the one-shot 橙讯 secret exchange, WeCom's one-shot
//! permanent-code exchange, the install link and the auth-info lookup,
//! safely, from a terminal. Built with the `cli` feature.
//!
//! Exit status: 0 success; 1 the secret arrived but could not be saved
//! where asked (the message says where it is); 2 usage or invalid input;
//! 3 the platform answered with an error code; 4 transport or HTTP failure;
//! 5 an answer that does not decode.

mod input;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use corp_auth::{Error, chengxun, wecom};

#[derive(Parser)]
#[command(
    name = "corp-auth",
    version,
    about = "橙讯 corp-secret exchange and WeCom auth info, without leaking secrets",
    after_help = "\
Secrets are read from the environment or prompted for, never from arguments.
Exit status: 0 ok, 1 secret received but not saved where asked, 2 usage or
invalid input, 3 platform error code, 4 transport or HTTP failure, 5 undecodable answer.

Examples:
  corp-auth chengxun exchange --corp-id 10001 --out ./corp-10001.secret
  corp-auth wecom auth-info --auth-corpid wwcorp0001 --format table
  corp-auth wecom permanent-code --out ./wwcorp0001.permanent-code
  corp-auth --base-url http://127.0.0.1:8080 -v wecom auth-info --auth-corpid wwcorp0001"
)]
struct Cli {
    /// Base URL of the platform's API (default: the official one)
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,
    /// Total timeout of the request, in seconds
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Log the call to stderr (secrets redacted)
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    platform: PlatformCommand,
}

#[derive(Subcommand)]
enum PlatformCommand {
    /// 橙讯 (Cheng-Xun) open platform
    #[command(after_help = "Example:\n  corp-auth chengxun exchange --corp-id 10001 --out ./corp-10001.secret")]
    Chengxun {
        #[command(subcommand)]
        command: ChengxunCommand,
    },
    /// WeCom (企业微信) third-party service provider APIs
    #[command(after_help = "Example:\n  corp-auth wecom auth-info --auth-corpid wwcorp0001 --format table")]
    Wecom {
        #[command(subcommand)]
        command: WecomCommand,
    },
}

#[derive(Subcommand)]
enum ChengxunCommand {
    /// Exchange the one-time temp_corp_secret for the permanent corp_secret, into a new file
    #[command(after_help = "\
Reads CHENGXUN_CORP_AUTHORIZATION and CHENGXUN_TEMP_CORP_SECRET from the
environment, or prompts for them (without echo) when unset at a terminal.
The exchange is one-shot: FILE must not exist, and its directory must be
writable, before anything is sent. The secret is written with mode 0600.

Example:
  corp-auth chengxun exchange --corp-id 10001 --out ./corp-10001.secret")]
    Exchange {
        /// The organization id (corp_id) the admin gave you; sent as given
        /// (the platform documents no range, so a negative id is its to judge)
        #[arg(long, value_name = "ID", allow_negative_numbers = true)]
        corp_id: i64,
        /// Where to write the corp_secret; must not exist yet
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum WecomCommand {
    /// Print a corp's authorization info (get_auth_info)
    #[command(after_help = "\
Reads WECOM_SUITE_ACCESS_TOKEN and WECOM_PERMANENT_CODE from the environment,
or prompts for them (without echo) when unset at a terminal.

Example:
  corp-auth wecom auth-info --auth-corpid wwcorp0001 --format table")]
    AuthInfo {
        /// The corp's id (auth_corpid)
        #[arg(long, value_name = "CORPID")]
        auth_corpid: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Exchange an install's one-time auth_code for the corp's permanent_code, into a new file
    #[command(after_help = "\
Reads WECOM_SUITE_ACCESS_TOKEN and WECOM_AUTH_CODE from the environment, or
prompts for them (without echo) when unset at a terminal. The exchange is
one-shot (WeCom accepts an auth_code once): FILE must not exist, and its
directory must be writable, before anything is sent. The permanent_code is
written with mode 0600. Uses get_permanent_code v2 unless --v1 is given.

Example:
  corp-auth wecom permanent-code --out ./wwcorp0001.permanent-code")]
    PermanentCode {
        /// Where to write the permanent_code; must not exist yet
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Use the v1 call (slower; also returns the corp's details and a corp token, not printed)
        #[arg(long)]
        v1: bool,
    },
    /// Get a pre-auth code and print the install link that starts an authorization
    #[command(after_help = "\
Reads WECOM_SUITE_ACCESS_TOKEN from the environment, or prompts for it
(without echo) when unset at a terminal. Gets a pre_auth_code, sets the
install's authorization type (--test for an unreleased app), and prints the
link on stdout. The link carries the pre_auth_code (valid about 20 minutes,
for one install): give it to the admin's browser, don't log it.

Example:
  corp-auth wecom install-url --suite-id wwsuite01 --redirect-uri https://isv.example/wecom/installed --state a1b2c3")]
    InstallUrl {
        /// The suite (app) id
        #[arg(long, value_name = "ID")]
        suite_id: String,
        /// Where WeCom redirects after the install (with auth_code and state)
        #[arg(long, value_name = "URL")]
        redirect_uri: String,
        /// Your CSRF state, [a-zA-Z0-9]{0,128}; check it on the redirect
        #[arg(long, value_name = "STATE", default_value = "")]
        state: String,
        /// A test authorization (an unreleased app); default: formal
        #[arg(long)]
        test: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Pretty JSON (machine-readable; holds no secret)
    Json,
    /// A readable table
    Table,
}

/// A failure: the message for stderr and the exit status.
pub struct Failure {
    status: u8,
    message: String,
}

impl Failure {
    fn usage(message: String) -> Self {
        Self { status: 2, message }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        let status = match &err {
            Error::InvalidInput { .. } | Error::Config { .. } => 2,
            Error::Platform { .. } => 3,
            Error::Transport { .. } | Error::Http { .. } => 4,
            Error::Decode { .. } => 5,
            _ => 4,
        };
        // Error's Display holds no secret, by construction.
        Self {
            status,
            message: err.to_string(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose {
        let filter = tracing_subscriber::filter::Targets::new().with_target("corp_auth", tracing::Level::DEBUG);
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .init();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("corp-auth: error: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let timeout = Duration::from_secs(cli.timeout);
    match cli.platform {
        PlatformCommand::Chengxun {
            command: ChengxunCommand::Exchange { corp_id, out },
        } => {
            let mut builder = chengxun::Client::builder().timeout(timeout);
            if let Some(url) = cli.base_url {
                builder = builder.base_url(url);
            }
            let client = builder.build()?;
            // Everything that can be checked is checked before sending.
            let authorization = input::secret("CHENGXUN_CORP_AUTHORIZATION", "corp_authorization (组织认证码)")?;
            let temp = input::secret("CHENGXUN_TEMP_CORP_SECRET", "temp_corp_secret (预授权码)")?;
            let reserved = output::reserve(&out).map_err(Failure::usage)?;
            let secret = client
                .exchange_corp_secret(corp_id, authorization.expose_secret(), temp.expose_secret())
                .await?;
            reserved
                .commit(&secret)
                .map_err(|message| Failure { status: 1, message })?;
            println!(
                "corp_secret for corp {corp_id} written to {} ({})",
                out.display(),
                secret.masked()
            );
            Ok(())
        }
        PlatformCommand::Wecom { command } => {
            let mut builder = wecom::Client::builder().timeout(timeout);
            if let Some(url) = cli.base_url {
                builder = builder.base_url(url);
            }
            wecom_command(builder.build()?, command).await
        }
    }
}

async fn wecom_command(client: wecom::Client, command: WecomCommand) -> Result<(), Failure> {
    match command {
        WecomCommand::PermanentCode { out, v1 } => {
            // Everything that can be checked is checked before sending.
            let token = input::secret("WECOM_SUITE_ACCESS_TOKEN", "suite_access_token")?;
            let auth_code = input::secret("WECOM_AUTH_CODE", "auth_code (临时授权码)")?;
            let reserved = output::reserve(&out).map_err(Failure::usage)?;
            let (code, corp) = if v1 {
                let answer = client
                    .get_permanent_code(token.expose_secret(), auth_code.expose_secret())
                    .await?;
                let corp = answer.auth_corp_info.map(|c| (c.corpid, c.corp_name));
                (answer.permanent_code, corp)
            } else {
                let answer = client
                    .get_permanent_code_v2(token.expose_secret(), auth_code.expose_secret())
                    .await?;
                let corp = answer.auth_corp_info.map(|c| (c.corpid, c.corp_name));
                (answer.permanent_code, corp)
            };
            reserved
                .commit(&code)
                .map_err(|message| Failure { status: 1, message })?;
            let (corpid, name) = corp.unwrap_or_default();
            println!(
                "permanent_code for corp {} {} written to {} ({})",
                corpid.as_deref().unwrap_or("?"),
                name.as_deref().unwrap_or(""),
                out.display(),
                code.masked()
            );
            Ok(())
        }
        WecomCommand::InstallUrl {
            suite_id,
            redirect_uri,
            state,
            test,
        } => {
            // The link's own inputs are checked before anything is sent.
            wecom::install_url(&suite_id, "-", &redirect_uri, &state)?;
            let token = input::secret("WECOM_SUITE_ACCESS_TOKEN", "suite_access_token")?;
            let pre = client.get_pre_auth_code(token.expose_secret()).await?;
            let auth_type = if test {
                wecom::AuthType::Test
            } else {
                wecom::AuthType::Formal
            };
            client
                .set_session_info(token.expose_secret(), pre.pre_auth_code.expose_secret(), auth_type)
                .await?;
            let url = wecom::install_url(&suite_id, pre.pre_auth_code.expose_secret(), &redirect_uri, &state)?;
            println!("{url}");
            Ok(())
        }
        WecomCommand::AuthInfo { auth_corpid, format } => {
            let token = input::secret("WECOM_SUITE_ACCESS_TOKEN", "suite_access_token")?;
            let code = input::secret("WECOM_PERMANENT_CODE", "permanent_code (永久授权码)")?;
            let info = client
                .get_auth_info(token.expose_secret(), &auth_corpid, code.expose_secret())
                .await?;
            match format {
                Format::Json => {
                    let json = serde_json::to_string_pretty(&info).expect("the answer serializes");
                    println!("{json}");
                }
                Format::Table => print!("{}", output::table(&info)),
            }
            Ok(())
        }
    }
}
