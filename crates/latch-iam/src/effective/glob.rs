//! Set relations between two policy patterns (`*`, `?`, `${…}`), for
//! summarising statements without a concrete request: do two patterns
//! share a value (a deny in scope), and does one hold every value of the
//! other (a boundary that covers a grant).
//!
//! Both answers lean the safe way for a report: `overlap` may say yes for
//! patterns that share nothing (ARN parts are not kept apart, a variable
//! reads as `*`), so a deny is flagged rather than missed; `covers` says yes
//! only when it is sure.

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A byte matched as written (lowercased when folding).
    Lit(u8),
    /// `?`.
    One,
    /// `*`.
    Star,
    /// `${…}`: a value known only with a request.
    Var,
}

fn tokens(text: &str, fold: bool) -> Vec<Tok> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'$' && tail.first() == Some(&b'{') {
            if let Some(end) = tail.iter().position(|&c| c == b'}') {
                out.push(Tok::Var);
                rest = tail.get(end + 1..).unwrap_or(&[]);
                continue;
            }
        }
        out.push(match b {
            b'*' => Tok::Star,
            b'?' => Tok::One,
            _ if fold => Tok::Lit(b.to_ascii_lowercase()),
            _ => Tok::Lit(b),
        });
        rest = tail;
    }
    out
}

/// Whether some text matches both patterns.
pub(crate) fn overlap(a: &str, b: &str, fold: bool) -> bool {
    // A variable may take any value: read it as `*`.
    let star = |t: Tok| if t == Tok::Var { Tok::Star } else { t };
    let a: Vec<Tok> = tokens(a, fold).into_iter().map(star).collect();
    let b: Vec<Tok> = tokens(b, fold).into_iter().map(star).collect();
    let width = b.len() + 1;
    let mut seen = vec![false; (a.len() + 1) * width];
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        let Some(slot) = seen.get_mut(i * width + j) else {
            continue;
        };
        if *slot {
            continue;
        }
        *slot = true;
        match (a.get(i).copied(), b.get(j).copied()) {
            (None, None) => return true,
            (Some(Tok::Star), y) => {
                todo.push((i + 1, j));
                if y.is_some() {
                    todo.push((i, j + 1));
                }
            }
            (x, Some(Tok::Star)) => {
                todo.push((i, j + 1));
                if x.is_some() {
                    todo.push((i + 1, j));
                }
            }
            (Some(x), Some(y)) => {
                let same = match (x, y) {
                    (Tok::Lit(p), Tok::Lit(q)) => p == q,
                    _ => true,
                };
                if same {
                    todo.push((i + 1, j + 1));
                }
            }
            (None, Some(_)) | (Some(_), None) => {}
        }
    }
    false
}

/// Whether every text that matches `inner` matches `outer`.
pub(crate) fn covers(outer: &str, inner: &str, fold: bool) -> bool {
    let o = tokens(outer, fold);
    let n = tokens(inner, fold);
    let width = n.len() + 1;
    let mut seen = vec![false; (o.len() + 1) * width];
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        let Some(slot) = seen.get_mut(i * width + j) else {
            continue;
        };
        if *slot {
            continue;
        }
        *slot = true;
        match (o.get(i).copied(), n.get(j).copied()) {
            (None, None) => return true,
            // An outer `*` absorbs any run of the inner pattern, wildcards
            // and variables included.
            (Some(Tok::Star), y) => {
                todo.push((i + 1, j));
                if y.is_some() {
                    todo.push((i, j + 1));
                }
            }
            (Some(Tok::Lit(p)), Some(Tok::Lit(q))) if p == q => todo.push((i + 1, j + 1)),
            (Some(Tok::One), Some(Tok::Lit(_) | Tok::One)) => todo.push((i + 1, j + 1)),
            // Anything else in the outer pattern cannot hold a wildcard or a
            // variable of the inner one; an outer variable is unknown.
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_and_cover() {
        for (a, b, fold, over, cov) in [
            ("s3:*", "s3:GetObject", true, true, true),
            ("s3:Get*", "s3:*Object", true, true, false),
            ("S3:GETOBJECT", "s3:getobject", true, true, true),
            ("s3:Put*", "s3:Get*", true, false, false),
            ("*", "ec2:Describe*", true, true, true),
            ("s3:Get?bject", "s3:Get*", true, true, false),
            ("s3:Get*", "s3:Get?bject", true, true, true),
            (
                "arn:aws:s3:::b/*",
                "arn:aws:s3:::b/${aws:username}/*",
                false,
                true,
                true,
            ),
            (
                "arn:aws:s3:::b/${aws:username}",
                "arn:aws:s3:::b/alice",
                false,
                true,
                false,
            ),
            ("arn:aws:s3:::a", "arn:aws:s3:::b", false, false, false),
            ("", "", false, true, true),
            ("a*", "", false, false, false),
        ] {
            assert_eq!(overlap(a, b, fold), over, "overlap {a} {b}");
            assert_eq!(overlap(b, a, fold), over, "overlap {b} {a}");
            assert_eq!(covers(a, b, fold), cov, "covers {a} {b}");
        }
    }
}
