//! Name patterns in access policies: `*` matches any run of characters
//! (including none), `?` exactly one; everything else matches itself,
//! case-sensitively (AWS names are case-sensitive).

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative wildcard matching with one backtrack point: linear in
    // practice, no recursion, no allocation beyond the char vectors.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        for (pattern, name, want) in [
            ("Admin", "Admin", true),
            ("Admin", "admin", false),
            ("Admin*", "AdminAccess", true),
            ("Admin*", "Admin", true),
            ("*Access", "ReadOnlyAccess", true),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*a*b*c*", "xxaxxbxxcxx", true),
            ("*a*b*c*", "xxaxxcxxbxx", false),
            ("prod-*-db", "prod-eu-1-db", true),
            ("prod-*-db", "prod-eu-1-db2", false),
        ] {
            assert_eq!(matches(pattern, name), want, "{pattern} vs {name}");
        }
    }
}
