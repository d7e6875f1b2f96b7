//! Validation of the names people type: org slugs, emails, group names.
//! Errors read as the style guide asks: lowercase, input in backticks.

use thiserror::Error;

/// Why a name was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Invalid {
    /// A slug that is not 2–63 lowercase letters, digits or inner dashes.
    #[error("`{0}` is not a valid org slug: use 2 to 63 lowercase letters, digits and dashes, starting with a letter")]
    Slug(String),
    /// Not an email address.
    #[error("`{0}` is not a valid email address")]
    Email(String),
    /// A group name that is empty, too long or has control characters.
    #[error("`{0}` is not a valid group name: use 1 to 128 printable characters")]
    GroupName(String),
    /// A display name that is too long or has control characters.
    #[error("the name is not valid: use at most 256 printable characters")]
    DisplayName,
}

/// Checks an org slug.
pub fn slug(s: &str) -> Result<(), Invalid> {
    let ok = (2..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && !s.contains("--")
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok { Ok(()) } else { Err(Invalid::Slug(s.to_owned())) }
}

/// Checks an email address and returns its canonical form: the domain
/// lowercased (the local part is kept as typed, then compared lowercased,
/// which is how every mainstream provider behaves).
pub fn email(s: &str) -> Result<String, Invalid> {
    let bad = || Invalid::Email(s.to_owned());
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
    let domain_ok = !domain.is_empty()
        && domain.len() <= 253
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains('@');
    if domain_ok && local_ok {
        Ok(format!("{}@{}", local.to_lowercase(), domain.to_ascii_lowercase()))
    } else {
        Err(bad())
    }
}

/// Checks a group name.
pub fn group_name(s: &str) -> Result<(), Invalid> {
    let ok = !s.trim().is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control);
    if ok { Ok(()) } else { Err(Invalid::GroupName(s.to_owned())) }
}

/// Checks a person's display name.
pub fn display_name(s: &str) -> Result<(), Invalid> {
    if s.chars().count() <= 256 && !s.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(Invalid::DisplayName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["acme", "a1", "acme-corp", "x-2-y"] {
            assert_eq!(slug(good), Ok(()), "{good}");
        }
        for bad in ["", "a", "Acme", "1acme", "acme-", "ac--me", "ac_me", "ac me", &"a".repeat(64)] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email("Alice@Example.COM").unwrap(), "alice@example.com");
        assert_eq!(email("a.b+c@x.io").unwrap(), "a.b+c@x.io");
        for bad in ["", "alice", "@x.io", "alice@", "a b@x.io", "a@x..io", "a@.x.io", "a@x.io.", "a@b@c", "a@x_y.io"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn group_names() {
        assert!(group_name("platform admins").is_ok());
        assert!(group_name(" ").is_err());
        assert!(group_name("a\nb").is_err());
        assert!(group_name(&"g".repeat(129)).is_err());
    }
}
