//! Reads a JSON policy document into the syntax tree, checking its structure:
//! element names and their JSON types, as AWS's policy grammar defines them.
//! Meaning (known actions, ARN shapes, operator values) is checked later by
//! `validate`.

mod err;

pub use err::ParseError;

use crate::ast::{
    ConditionBlock, ConditionEntry, ConditionValue, Effect, Negatable, OneOrMany, Operator, Policy,
    Principal, PrincipalKind, Spanned, Statement, Version,
};
use crate::json::{self, Json, Loc, Member, Node};

impl Policy {
    /// Parses policy JSON text.
    pub fn parse(text: &str) -> Result<Policy, ParseError> {
        let node = json::parse(text)?;
        Policy::from_json(&node)
    }

    /// Reads a policy from already-parsed JSON.
    pub fn from_json(node: &Node) -> Result<Policy, ParseError> {
        let members = object(node, "policy")?;
        check_duplicates(members)?;
        let mut version = None;
        let mut id = None;
        let mut statements = None;
        for m in members {
            match m.key.as_str() {
                "Version" => {
                    let text = string(&m.value, "Version")?;
                    let v = match text {
                        "2012-10-17" => Version::V2012,
                        "2008-10-17" => Version::V2008,
                        _ => {
                            return Err(ParseError::BadVersion {
                                found: text.to_owned(),
                                loc: m.value.loc,
                            })
                        }
                    };
                    version = Some(Spanned::new(v, m.value.loc));
                }
                "Id" => {
                    id = Some(Spanned::new(
                        string(&m.value, "Id")?.to_owned(),
                        m.value.loc,
                    ))
                }
                "Statement" => statements = Some(one_or_many(&m.value, "Statement", statement)?),
                other => return Err(unknown(other, m.key_loc, &["Version", "Id", "Statement"])),
            }
        }
        let statements = statements.ok_or(ParseError::Missing {
            element: "Statement",
            loc: node.loc,
        })?;
        Ok(Policy {
            version,
            id,
            statements,
            loc: node.loc,
        })
    }
}

const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn statement(node: &Node) -> Result<Statement, ParseError> {
    let members = object(node, "Statement")?;
    check_duplicates(members)?;
    let mut sid = None;
    let mut effect = None;
    let mut principal: Option<Negatable<Principal>> = None;
    let mut action: Option<Negatable<OneOrMany<Spanned<String>>>> = None;
    let mut resource: Option<Negatable<OneOrMany<Spanned<String>>>> = None;
    let mut condition = None;
    for m in members {
        let v = &m.value;
        match m.key.as_str() {
            "Sid" => sid = Some(Spanned::new(string(v, "Sid")?.to_owned(), v.loc)),
            "Effect" => {
                let text = string(v, "Effect")?;
                let e = match text {
                    "Allow" => Effect::Allow,
                    "Deny" => Effect::Deny,
                    _ => {
                        return Err(ParseError::BadEffect {
                            found: text.to_owned(),
                            loc: v.loc,
                        })
                    }
                };
                effect = Some(Spanned::new(e, v.loc));
            }
            key @ ("Principal" | "NotPrincipal") => {
                let negated = key == "NotPrincipal";
                if principal.is_some() {
                    return Err(both("Principal", "NotPrincipal", m.key_loc));
                }
                principal = Some(Negatable {
                    negated,
                    values: principal_value(v, key)?,
                    loc: m.key_loc,
                });
            }
            key @ ("Action" | "NotAction") => {
                if action.is_some() {
                    return Err(both("Action", "NotAction", m.key_loc));
                }
                action = Some(Negatable {
                    negated: key == "NotAction",
                    values: strings(v, key)?,
                    loc: m.key_loc,
                });
            }
            key @ ("Resource" | "NotResource") => {
                if resource.is_some() {
                    return Err(both("Resource", "NotResource", m.key_loc));
                }
                resource = Some(Negatable {
                    negated: key == "NotResource",
                    values: strings(v, key)?,
                    loc: m.key_loc,
                });
            }
            "Condition" => condition = Some(conditions(v)?),
            other => return Err(unknown(other, m.key_loc, &STATEMENT_ELEMENTS)),
        }
    }
    let effect = effect.ok_or(ParseError::Missing {
        element: "Effect",
        loc: node.loc,
    })?;
    let action = action.ok_or(ParseError::Missing {
        element: "Action` or `NotAction",
        loc: node.loc,
    })?;
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        condition,
        loc: node.loc,
    })
}

fn principal_value(node: &Node, element: &str) -> Result<Principal, ParseError> {
    match &node.value {
        Json::String(s) if s == "*" => Ok(Principal::Star),
        Json::Object(members) => {
            check_duplicates(members)?;
            let mut out = Vec::with_capacity(members.len());
            for m in members {
                let kind =
                    PrincipalKind::parse(&m.key).ok_or_else(|| ParseError::BadPrincipalKind {
                        found: m.key.clone(),
                        loc: m.key_loc,
                    })?;
                let values = strings(&m.value, &format!("{element}.{}", m.key))?;
                out.push((Spanned::new(kind, m.key_loc), values));
            }
            Ok(Principal::Map(out))
        }
        other => Err(ParseError::WrongType {
            element: element.to_owned(),
            expected: "`\"*\"` or an object such as `{\"AWS\": …}`",
            found: other.kind(),
            loc: node.loc,
        }),
    }
}

fn conditions(node: &Node) -> Result<Vec<ConditionBlock>, ParseError> {
    let members = object(node, "Condition")?;
    check_duplicates(members)?;
    let mut blocks = Vec::with_capacity(members.len());
    for m in members {
        let entries_json = object(&m.value, &format!("Condition.{}", m.key))?;
        check_duplicates(entries_json)?;
        let mut entries = Vec::with_capacity(entries_json.len());
        for e in entries_json {
            let element = format!("Condition.{}.{}", m.key, e.key);
            let values = one_or_many(&e.value, &element, |n| condition_value(n, &element))?;
            entries.push(ConditionEntry {
                key: Spanned::new(e.key.clone(), e.key_loc),
                values,
            });
        }
        blocks.push(ConditionBlock {
            operator_text: Spanned::new(m.key.clone(), m.key_loc),
            operator: Operator::parse(&m.key),
            entries,
        });
    }
    Ok(blocks)
}

fn condition_value(node: &Node, element: &str) -> Result<Spanned<ConditionValue>, ParseError> {
    let v = match &node.value {
        Json::String(s) => ConditionValue::String(s.clone()),
        Json::Number(n) => ConditionValue::Number(n.clone()),
        Json::Bool(b) => ConditionValue::Bool(*b),
        other => {
            return Err(ParseError::WrongType {
                element: element.to_owned(),
                expected: "a string, number or boolean, or an array of them",
                found: other.kind(),
                loc: node.loc,
            })
        }
    };
    Ok(Spanned::new(v, node.loc))
}

fn strings(node: &Node, element: &str) -> Result<OneOrMany<Spanned<String>>, ParseError> {
    one_or_many(node, element, |n| {
        Ok(Spanned::new(string(n, element)?.to_owned(), n.loc))
    })
}

fn one_or_many<T>(
    node: &Node,
    element: &str,
    mut item: impl FnMut(&Node) -> Result<T, ParseError>,
) -> Result<OneOrMany<T>, ParseError> {
    match &node.value {
        Json::Array(nodes) => {
            if nodes.is_empty() {
                return Err(ParseError::Empty {
                    element: element.to_owned(),
                    loc: node.loc,
                });
            }
            let items = nodes.iter().map(item).collect::<Result<Vec<_>, _>>()?;
            Ok(OneOrMany { items, array: true })
        }
        _ => Ok(OneOrMany {
            items: vec![item(node)?],
            array: false,
        }),
    }
}

fn object<'a>(node: &'a Node, element: &str) -> Result<&'a [Member], ParseError> {
    match &node.value {
        Json::Object(m) => Ok(m),
        other => Err(ParseError::WrongType {
            element: element.to_owned(),
            expected: "an object",
            found: other.kind(),
            loc: node.loc,
        }),
    }
}

fn string<'a>(node: &'a Node, element: &str) -> Result<&'a str, ParseError> {
    match &node.value {
        Json::String(s) => Ok(s),
        other => Err(ParseError::WrongType {
            element: element.to_owned(),
            expected: "a string",
            found: other.kind(),
            loc: node.loc,
        }),
    }
}

fn check_duplicates(members: &[Member]) -> Result<(), ParseError> {
    for (i, m) in members.iter().enumerate() {
        if members.iter().take(i).any(|p| p.key == m.key) {
            return Err(ParseError::Duplicate {
                element: m.key.clone(),
                loc: m.key_loc,
            });
        }
    }
    Ok(())
}

fn both(a: &'static str, b: &'static str, loc: Loc) -> ParseError {
    ParseError::Both { a, b, loc }
}

fn unknown(name: &str, loc: Loc, known: &[&'static str]) -> ParseError {
    ParseError::UnknownElement {
        name: name.to_owned(),
        suggestion: known.iter().copied().find(|k| k.eq_ignore_ascii_case(name)),
        loc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_shapes() {
        let p = Policy::parse(
            r#"{"Version":"2012-10-17","Id":"x","Statement":{"Sid":"A","Effect":"Allow",
            "Action":"s3:GetObject","Resource":["arn:aws:s3:::b/*"],
            "Principal":{"AWS":["111111111111"],"Service":"s3.amazonaws.com"},
            "Condition":{"StringEquals":{"aws:username":["a",1,true]}}}}"#,
        )
        .unwrap();
        assert!(!p.statements.array);
        let s = &p.statements.items[0];
        assert_eq!(s.effect.value, Effect::Allow);
        assert!(!s.action.values.array);
        assert!(s.resource.as_ref().unwrap().values.array);
        let c = &s.condition.as_ref().unwrap()[0];
        assert_eq!(c.entries[0].values.items.len(), 3);
        assert_eq!(
            c.entries[0].values.items[1].value,
            ConditionValue::Number("1".into())
        );
    }

    #[test]
    fn reports_structure_errors() {
        for (text, want, line_col) in [
            (r#"{"Statement":[]}"#, "`Statement` must not be empty", (1, 14)),
            (
                "{\"Statement\":{\n\"effect\":\"Allow\"}}",
                "unknown element `effect`",
                (2, 1),
            ),
            (
                r#"{"Statement":{"Effect":"allow","Action":"*"}}"#,
                "`Effect` must be `Allow` or `Deny`, found `allow`",
                (1, 24),
            ),
            (r#"{"Statement":{"Effect":"Allow"}}"#, "statement has no `Action` or `NotAction`", (1, 14)),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*"}}"#,
                "statement has both `Action` and `NotAction`",
                (1, 45),
            ),
            (r#"{"Version":"2012-10-18","Statement":[]}"#, "unknown policy version `2012-10-18`", (1, 12)),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":"arn:aws:iam::1:root"}}"#,
                "`Principal` must be `\"*\"` or an object such as `{\"AWS\": …}`, found a string",
                (1, 57),
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":{"aws":"*"}}}"#,
                "unknown principal type `aws`",
                (1, 58),
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":{"Bool":{"k":null}}}}"#,
                "`Condition.Bool.k` must be a string, number or boolean, or an array of them, found null",
                (1, 70),
            ),
            (r#"{"Statement":{"Effect":"Allow","Effect":"Deny","Action":"*"}}"#, "`Effect` is written more than once", (1, 32)),
            (r#"[]"#, "`policy` must be an object, found an array", (1, 1)),
        ] {
            let err = Policy::parse(text).unwrap_err();
            assert_eq!(err.to_string(), want, "{text}");
            assert_eq!((err.loc().line, err.loc().col), line_col, "{text}");
        }
    }
}
