//! Pattern matching, variables and wildcards, table-driven.

use super::*;

const LIKE: Syntax = Syntax {
    wildcards: true,
    variables: true,
    fold: false,
};

fn one(pat: &str, syntax: Syntax, text: &str, c: &Context) -> bool {
    let mut arena = PatternArena::default();
    Pattern::new(&mut arena, pat, syntax).matches(arena.view(), text, c)
}

fn ctx() -> Context {
    Context::from_pairs([
        ("aws:username", vec!["alice"]),
        ("aws:PrincipalTag/team", vec!["blue"]),
        ("aws:TagKeys", vec!["a", "b"]),
    ])
}

#[test]
fn wildcard_matching() {
    let c = Context::default();
    for (pat, text, want) in [
        ("*", "", true),
        ("*", "anything", true),
        ("a*", "abc", true),
        ("a*", "b", false),
        ("*c", "abc", true),
        ("a*c", "ac", true),
        ("a*c", "abcbd", false),
        ("a*b*c", "axxbyyc", true),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("a?c", "aéc", true),
        ("??", "é", false),
        ("abc", "abc", true),
        ("abc", "ABC", false),
        ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
    ] {
        assert_eq!(one(pat, LIKE, text, &c), want, "{pat} vs {text}");
    }
}

#[test]
fn folding_and_literal_mode() {
    let c = Context::default();
    let fold = Syntax {
        wildcards: true,
        variables: false,
        fold: true,
    };
    assert!(one("S3:Get*", fold, "s3:GETOBJECT", &c));
    let lit = Syntax {
        wildcards: false,
        variables: false,
        fold: false,
    };
    assert!(one("a*", lit, "a*", &c));
    assert!(!one("a*", lit, "ab", &c));
}

#[test]
fn variables() {
    let c = ctx();
    for (pat, text, want) in [
        ("home/${aws:username}/*", "home/alice/x", true),
        ("home/${aws:username}/*", "home/bob/x", false),
        ("home/${AWS:UserName}", "home/alice", true),
        ("${aws:PrincipalTag/team}", "blue", true),
        ("${aws:missing}", "", false),
        ("${aws:missing, 'dflt'}", "dflt", true),
        ("${ aws:missing , 'd' }x", "dx", true),
        ("a${*}b", "a*b", true),
        ("a${*}b", "axb", false),
        ("${?}", "?", true),
        ("${$}", "$", true),
        ("${aws:TagKeys}", "a", false),
        ("${unterminated", "${unterminated", true),
        ("${}", "${}", true),
    ] {
        assert_eq!(one(pat, LIKE, text, &c), want, "{pat} vs {text}");
    }
    let no_vars = Syntax {
        wildcards: true,
        variables: false,
        fold: false,
    };
    assert!(one("${aws:username}", no_vars, "${aws:username}", &c));
}

#[test]
fn arn_parts_match_one_by_one() {
    let c = ctx();
    for (pat, text, want) in [
        ("arn:aws:s3:::*", "arn:aws:s3:::b/k:x", true),
        ("arn:aws:sqs:*:111:*", "arn:aws:sqs:us-east-1:111:q", true),
        ("arn:aws:sqs:*:111:*", "arn:aws:sqs:us-east-1:222:q", false),
        ("arn:aws:*:*:*:*", "arn:aws:s3:::b", true),
        ("arn:aws:s*:::b", "arn:aws:s3:::b", true),
        ("arn:aws:s*:::b", "arn:aws:s3:x::b", false),
        ("arn:aws:iam::1:role/x*", "arn:aws:iam::1:role/xy", true),
        ("arn:aws:iam::?:role/x", "arn:aws:iam:::role/x", false),
        (
            "arn:aws:lambda:us-east-1:*:function:*",
            "arn:aws:lambda:us-east-1:1:function:fn:alias",
            true,
        ),
        ("arn:aws:s3:::b", "arn:aws:s3:::b:", false),
        (
            "arn:aws:s3:::home/${aws:username}/*",
            "arn:aws:s3:::home/alice/k",
            true,
        ),
        (
            "arn:aws:iam::*:user/${aws:username}",
            "arn:aws:iam::1:user/alice",
            true,
        ),
        (
            "arn:aws:iam::*:user/${aws:username}",
            "arn:aws:iam::1:2:user/alice",
            false,
        ),
        ("arn:aws:*", "arn:aws:s3:::b", true),
    ] {
        assert_eq!(
            {
                let mut a = PatternArena::default();
                Pattern::arn(&mut a, pat, true).matches(a.view(), text, &c)
            },
            want,
            "{pat} vs {text}"
        );
    }
}

#[test]
fn patterns_stay_small() {
    // See the INVARIANT on `Pattern`.
    assert!(std::mem::size_of::<Pattern>() <= 24);
    // A decision reads every piece and condition of its case too.
    assert!(std::mem::size_of::<super::Piece>() <= 24);
    assert!(std::mem::size_of::<crate::compile::CompiledCondition>() <= 28);
    assert!(std::mem::size_of::<crate::compile::HotStatement>() <= 48);
}

#[test]
fn literal_ends_and_limited_stars() {
    let c = Context::default();
    let arn = |pat: &str, text: &str| {
        let mut a = PatternArena::default();
        Pattern::arn(&mut a, pat, false).matches(a.view(), text, &c)
    };
    assert!(arn("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/k/x"));
    assert!(!arn("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/k/y"));
    assert!(!arn("arn:aws:s3:::b/*/x", "arn:aws:s3:::c/k/x"));
    assert!(arn("arn:aws:s?s:*:1:q*", "arn:aws:sqs:us-east-1:1:queue"));
    assert!(!arn("arn:aws:s?s:*:1:q*", "arn:aws:sqs:us:east:1:queue"));
    assert!(!arn("arn:aws:*:::b", "arn:aws:s3::::b"));
    let fold = Syntax {
        wildcards: true,
        variables: false,
        fold: true,
    };
    assert!(one("s3:*Object", fold, "S3:GetOBJECT", &c));
    assert!(!one("s3:*Object", fold, "S3:GetBucket", &c));
    assert!(one("iam:?et*", fold, "IAM:GetUser", &c));
}

#[test]
fn long_heads_tails_and_arn_parts() {
    let c = Context::default();
    let long = "k".repeat(70_000);
    let like = Syntax {
        wildcards: true,
        variables: false,
        fold: false,
    };
    let text = format!("{long}xyz");
    assert!(one(&format!("{long}*"), like, &text, &c));
    assert!(!one(&format!("{long}*"), like, &text[1..], &c));
    assert!(one(&format!("*{long}"), like, &format!("ab{long}"), &c));
    assert!(one(&format!("{long}?yz"), like, &text, &c));
    assert!(!one(&format!("{long}?yy"), like, &text, &c));
    let arn = |pat: &str, text: &str| {
        let mut a = PatternArena::default();
        Pattern::arn(&mut a, pat, false).matches(a.view(), text, &c)
    };
    let p = format!("arn:aws:s3:{long}:1:x*");
    assert!(arn(&p, &format!("arn:aws:s3:{long}:1:xy:z")));
    assert!(!arn(&p, &format!("arn:aws:s3:{long}:1:y")));
    let p = format!("arn:aws:s3:{long}*:1:x*");
    assert!(arn(&p, &format!("arn:aws:s3:{long}q:1:xy")));
    assert!(!arn(&p, &format!("arn:aws:s3:{long}q:z:1:xy")));
}

#[test]
fn lowercase_text_matches_as_folding() {
    let c = Context::default();
    let fold = Syntax {
        wildcards: true,
        variables: false,
        fold: true,
    };
    for pat in [
        "S3:GetObject",
        "s3:get*",
        "s3:*OBJECT",
        "s3:?et*ect",
        "*",
        "s3:Put*",
    ] {
        for text in [
            "s3:GetObject",
            "S3:GETOBJECT",
            "s3:getobjecT",
            "s3:PutObject",
            "sqs:Get",
        ] {
            let mut a = PatternArena::default();
            let p = Pattern::new(&mut a, pat, fold);
            let lc = text.to_ascii_lowercase();
            assert_eq!(
                p.matches_lowercase(a.view(), text, &lc, &c),
                p.matches(a.view(), text, &c),
                "{pat} vs {text}"
            );
        }
    }
}

#[test]
fn variable_value_is_literal() {
    let c = Context::from_pairs([("aws:username", vec!["a*"])]);
    assert!(one("${aws:username}", LIKE, "a*", &c));
    assert!(!one("${aws:username}", LIKE, "abc", &c));
}
