//! Wildcard matching of text against pattern tokens, without allocating.

/// A token the matcher walks over.
#[derive(Clone, Copy)]
pub(super) enum Tok<'a> {
    Lit(&'a [u8]),
    /// `*`; `true`: may not match `:`.
    Star(bool),
    /// `?`; `true`: may not match `:`.
    One(bool),
}

/// The length of the UTF-8 character that starts with byte `b`.
fn char_len(b: Option<&u8>) -> usize {
    match b {
        Some(b) if *b >= 0xF0 => 4,
        Some(b) if *b >= 0xE0 => 3,
        Some(b) if *b >= 0xC0 => 2,
        _ => 1,
    }
}

/// [`glob`] for a pattern without policy variables, read straight from its
/// bytes: `*` and `?` are wildcards, and before byte `seg5` they do not
/// match `:`. Starts at byte `from` of both, whose first `from` bytes the
/// caller found equal and free of wildcards. Never allocates.
pub(super) fn glob_bytes(pat: &[u8], text: &[u8], from: usize, seg5: usize, fold: bool) -> bool {
    let byte_eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut t) = (from, from);
    // (pattern index after the star, text index it resumes at, limited)
    let mut star: Option<(usize, usize, bool)> = None;
    loop {
        match pat.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, t, p <= seg5));
                continue;
            }
            Some(b'?') => match text.get(t) {
                Some(b':') if p < seg5 => {}
                Some(b) => {
                    t += char_len(Some(b));
                    p += 1;
                    continue;
                }
                None => {}
            },
            Some(c) => {
                if let Some(b) = text.get(t) {
                    if byte_eq(*c, *b) {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
            None => {
                if t >= text.len() {
                    return true;
                }
            }
        }
        match backtrack(&mut star, text) {
            Some((sp, next)) => (p, t) = (sp, next),
            None => return false,
        }
    }
}

/// Wildcard matching with single-star backtracking; `?` takes one UTF-8
/// character; a literal token is compared in one go. Stars limited to one
/// ARN part never cross `:`; since nothing else in those parts matches `:`
/// either, the parts line up and backtracking to the latest star stays
/// correct. Never allocates.
#[inline(always)]
pub(super) fn glob<'a>(tok: impl Fn(usize) -> Option<Tok<'a>>, text: &[u8], fold: bool) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        if fold {
            a.eq_ignore_ascii_case(b)
        } else {
            super::same(a, b)
        }
    };
    let (mut pi, mut t) = (0usize, 0usize);
    // (pattern index after the star, text index it resumes at, limited)
    let mut star: Option<(usize, usize, bool)> = None;
    loop {
        let step = match tok(pi) {
            Some(Tok::Star(limited)) => {
                pi += 1;
                star = Some((pi, t, limited));
                continue;
            }
            Some(Tok::One(limited)) => match text.get(t) {
                Some(b':') if limited => false,
                Some(b) => {
                    t += char_len(Some(b));
                    pi += 1;
                    true
                }
                None => false,
            },
            Some(Tok::Lit(s)) => match text.get(t..t + s.len()) {
                Some(x) if eq(s, x) => {
                    t += s.len();
                    pi += 1;
                    true
                }
                _ => false,
            },
            None => {
                if t >= text.len() {
                    return true;
                }
                false
            }
        };
        if step {
            continue;
        }
        match backtrack(&mut star, text) {
            Some((sp, next)) => (pi, t) = (sp, next),
            None => return false,
        }
    }
}

/// After a mismatch, lets the last `*` (at pattern position, text position,
/// and whether it may not match `:`) take one more character of `text`:
/// the positions to go on from, or `None` when no `*` can.
#[inline]
fn backtrack(star: &mut Option<(usize, usize, bool)>, text: &[u8]) -> Option<(usize, usize)> {
    let (sp, st, limited) = (*star)?;
    if st >= text.len() || (limited && text.get(st) == Some(&b':')) {
        return None;
    }
    let next = st + char_len(text.get(st));
    *star = Some((sp, next, limited));
    Some((sp, next))
}
