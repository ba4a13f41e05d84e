//! Reading secrets: from the environment, or typed at a terminal without
//! echo. Never from arguments: argv is visible to every user of the machine.

use std::io::IsTerminal as _;

use corp_auth::Secret;

use crate::Failure;

/// The value of `var`, or what the operator types at the prompt when it is
/// unset and stdin is a terminal.
pub fn secret(var: &str, what: &str) -> Result<Secret, Failure> {
    match std::env::var(var) {
        Ok(value) => Ok(Secret::new(value)),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::usage(format!("{var} is not valid UTF-8"))),
        Err(std::env::VarError::NotPresent) if std::io::stdin().is_terminal() => {
            let typed = rpassword::prompt_password(format!("{what} (input hidden): "))
                .map_err(|e| Failure::usage(format!("cannot read {what} from the terminal: {e}")))?;
            Ok(Secret::new(typed.trim_end_matches(['\r', '\n'])))
        }
        Err(std::env::VarError::NotPresent) => Err(Failure::usage(format!(
            "{var} is not set and stdin is not a terminal: set {var} to the {what} \
             (secrets are never taken as arguments)"
        ))),
    }
}
