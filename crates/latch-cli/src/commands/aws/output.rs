//! Printing credentials: shell exports (sh-family or fish), the AWS
//! `credential_process` JSON, or Latch's JSON. Only the credentials go to
//! stdout; hints for a person go to stderr, and only on a terminal.

use std::io::IsTerminal as _;

use serde_json::json;

use super::Credentials;
use crate::cli::Format;

const VARS: [&str; 4] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"];

/// The concrete format: `export` becomes `fish` when the shell is fish.
pub fn resolve(format: Format, shell: Option<&str>) -> Format {
    match format {
        Format::Export if shell.is_some_and(|s| s.rsplit('/').next() == Some("fish")) => Format::Fish,
        other => other,
    }
}

/// Single-quotes `v` for sh and fish (both take `'…'` literally, apart from
/// `'` itself, which fish also lets `\` escape).
fn quote(v: &str, fish: bool) -> String {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_-.:".contains(&b)) {
        return v.to_owned();
    }
    if fish {
        format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

fn values(c: &Credentials) -> [&str; 4] {
    [&c.access_key_id, &c.secret_access_key, &c.session_token, &c.session_token]
}

/// The text for stdout.
pub fn render(c: &Credentials, format: Format, account_id: &str, name: &str) -> String {
    match format {
        Format::Export => VARS.iter().zip(values(c)).map(|(k, v)| format!("export {k}={}\n", quote(v, false))).collect(),
        Format::Fish => VARS.iter().zip(values(c)).map(|(k, v)| format!("set -gx {k} {};\n", quote(v, true))).collect(),
        Format::CredentialProcess => {
            let v = json!({
                "Version": 1,
                "AccessKeyId": c.access_key_id,
                "SecretAccessKey": c.secret_access_key,
                "SessionToken": c.session_token,
                "Expiration": super::rfc3339(c.expiration),
            });
            format!("{v}\n")
        }
        Format::Json => {
            let v = json!({
                "account_id": account_id,
                "name": name,
                "access_key_id": c.access_key_id,
                "secret_access_key": c.secret_access_key,
                "session_token": c.session_token,
                "expiration": super::rfc3339(c.expiration),
            });
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
    }
}

/// Prints the credentials, and on a terminal how to use them.
pub fn print(c: &Credentials, format: Format, account_id: &str, name: &str, command: &str) {
    print!("{}", render(c, format, account_id, name));
    if matches!(format, Format::Export | Format::Fish) && std::io::stdout().is_terminal() {
        let eval = if format == Format::Fish { format!("latch aws {command} | source") } else { format!("eval \"$(latch aws {command})\"") };
        eprintln!("\nThese credentials for account {account_id} are valid until {}.", super::rfc3339(c.expiration));
        eprintln!("To use them in this shell, run:\n  {eval}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(secret: &str) -> Credentials {
        Credentials { access_key_id: "ASIAEXAMPLE".into(), secret_access_key: secret.into(), session_token: "tok/en+=".into(), expiration: 1_700_000_000 }
    }

    #[test]
    fn exports_are_quoted_for_each_shell() {
        let c = creds("it's $HOME");
        let sh = render(&c, Format::Export, "1", "R");
        assert!(sh.contains("export AWS_SECRET_ACCESS_KEY='it'\\''s $HOME'\n"), "{sh}");
        assert!(sh.contains("export AWS_SECURITY_TOKEN=tok/en+=\n"), "{sh}");
        let fish = render(&c, Format::Fish, "1", "R");
        assert!(fish.contains("set -gx AWS_SECRET_ACCESS_KEY 'it\\'s $HOME';\n"), "{fish}");
    }

    #[test]
    fn fish_is_chosen_by_the_shell() {
        assert_eq!(resolve(Format::Export, Some("/usr/bin/fish")), Format::Fish);
        assert_eq!(resolve(Format::Export, Some("/bin/bash")), Format::Export);
        assert_eq!(resolve(Format::CredentialProcess, Some("/usr/bin/fish")), Format::CredentialProcess);
    }

    #[test]
    fn credential_process_json_has_version_1_and_expiration() {
        let v: serde_json::Value = serde_json::from_str(&render(&creds("s"), Format::CredentialProcess, "1", "R")).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["Expiration"], "2023-11-14T22:13:20Z");
        assert_eq!(v["SessionToken"], "tok/en+=");
    }
}
