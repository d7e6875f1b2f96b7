//! One batch case: policies and a request, read from one JSON line.

use super::CaseError;
use crate::compile::{CompiledPolicy, Unpacked};
use crate::eval::{Context, ContextValue, EvalInput, Request};
use crate::json::{self, Json, Node};
use crate::validate::{validate_compiled, PolicyType};
use crate::Policy;

/// A parsed, validated and compiled case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case's `id`, echoed in the result.
    pub id: serde_json::Value,
    /// `identityPolicies`.
    pub identity_policies: Vec<CompiledPolicy>,
    /// `resourcePolicy`.
    pub resource_policy: Option<CompiledPolicy>,
    /// `permissionBoundaries`.
    pub permission_boundaries: Vec<CompiledPolicy>,
    /// `sessionPolicy`.
    pub session_policy: Option<CompiledPolicy>,
    /// `scps`, per level, root first; `None` when absent.
    pub scps: Option<Vec<Vec<CompiledPolicy>>>,
    /// `rcps`, per level, root first; `None` when absent.
    pub rcps: Option<Vec<Vec<CompiledPolicy>>>,
    /// `request`.
    pub request: Request,
}

impl Case {
    /// Reads a case line. On error, also returns the `id` if it was readable.
    pub fn parse(line: &str) -> Result<Case, (serde_json::Value, CaseError)> {
        Self::read(line, true)
    }

    /// Reads a case without validating its policies: statements that cannot
    /// be evaluated are kept (they never allow). For fuzzing and for callers
    /// that evaluate policies AWS accepted but validation flags.
    pub fn parse_lenient(line: &str) -> Result<Case, (serde_json::Value, CaseError)> {
        Self::read(line, false)
    }

    fn read(line: &str, strict: bool) -> Result<Case, (serde_json::Value, CaseError)> {
        let node = json::parse(line).map_err(|e| (serde_json::Value::Null, CaseError::Json(e)))?;
        let id = node
            .value
            .get("id")
            .map(|n| n.value.to_serde())
            .unwrap_or(serde_json::Value::Null);
        Self::from_node(&node, id.clone(), strict).map_err(|e| (id, e))
    }

    /// The compiled policy a deciding statement belongs to.
    pub fn policy(&self, slot: crate::eval::PolicySlot) -> Option<&CompiledPolicy> {
        use crate::eval::PolicyKind::*;
        match (slot.kind, slot.level) {
            (Identity, _) => self.identity_policies.get(slot.index),
            (Resource, _) => self.resource_policy.as_ref(),
            (Boundary, _) => self.permission_boundaries.get(slot.index),
            (Session, _) => self.session_policy.as_ref(),
            (Scp, Some(l)) => self.scps.as_ref()?.get(l)?.get(slot.index),
            (Rcp, Some(l)) => self.rcps.as_ref()?.get(l)?.get(slot.index),
            (Scp | Rcp, None) => None,
        }
    }

    fn from_node(node: &Node, id: serde_json::Value, strict: bool) -> Result<Case, CaseError> {
        if !matches!(node.value, Json::Object(_)) {
            return Err(CaseError::WrongType {
                field: "case".into(),
                expected: "an object",
            });
        }
        let field = |name: &str| node.value.get(name).filter(|n| n.value != Json::Null);
        let list = |name: &'static str, kind: PolicyType| -> Result<Vec<Unpacked>, CaseError> {
            match field(name) {
                None => Ok(Vec::new()),
                Some(n) => array(n, name)?
                    .iter()
                    .enumerate()
                    .map(|(i, p)| policy(p, &format!("{name}[{i}]"), kind, strict))
                    .collect(),
            }
        };
        let levels =
            |name: &'static str, kind: PolicyType| -> Result<Option<Levels<Unpacked>>, CaseError> {
                let Some(n) = field(name) else {
                    return Ok(None);
                };
                let mut out = Vec::new();
                for (l, level) in array(n, name)?.iter().enumerate() {
                    let mut ps = Vec::new();
                    for (i, p) in array(level, &format!("{name}[{l}]"))?.iter().enumerate() {
                        ps.push(policy(p, &format!("{name}[{l}][{i}]"), kind, strict)?);
                    }
                    out.push(ps);
                }
                Ok(Some(out))
            };
        let single =
            |name: &'static str, kind: PolicyType| -> Result<Option<Unpacked>, CaseError> {
                field(name)
                    .map(|n| policy(n, name, kind, strict))
                    .transpose()
            };
        let mut identity = list("identityPolicies", PolicyType::Identity)?;
        let mut resource = single("resourcePolicy", PolicyType::Resource)?;
        let mut boundaries = list("permissionBoundaries", PolicyType::Boundary)?;
        let mut session = single("sessionPolicy", PolicyType::Session)?;
        let mut scps = levels("scps", PolicyType::Scp)?;
        let mut rcps = levels("rcps", PolicyType::Rcp)?;
        let request = request(field("request").ok_or(CaseError::Missing("request"))?)?;
        // One pool for all the case's policies, in the order evaluation
        // reads them: a decision reads one run of memory rather than a few
        // arrays per policy. Each policy's records are packed once, there.
        crate::compile::share_packed(
            identity
                .iter_mut()
                .chain(boundaries.iter_mut())
                .chain(session.iter_mut())
                .chain(resource.iter_mut())
                .chain(
                    [&mut scps, &mut rcps]
                        .into_iter()
                        .flatten()
                        .flat_map(|levels| levels.iter_mut().flatten()),
                ),
        );
        // The policy lists and the request, allocated after the pool so
        // that they lie next to it.
        let policies = |list: Vec<Unpacked>| -> Vec<CompiledPolicy> {
            list.into_iter().map(|u| u.policy).collect()
        };
        let levels = |levels: Option<Levels<Unpacked>>| {
            levels.map(|ls| ls.into_iter().map(policies).collect::<Vec<_>>())
        };
        let identity_policies = policies(identity);
        let permission_boundaries = policies(boundaries);
        let session_policy = session.map(|u| u.policy);
        let resource_policy = resource.map(|u| u.policy);
        let scps = levels(scps);
        let rcps = levels(rcps);
        let mut request = request.clone();
        request.read_ahead = crate::eval::ReadAhead(
            identity_policies
                .iter()
                .chain(permission_boundaries.iter())
                .chain(session_policy.iter())
                .chain(resource_policy.iter())
                .chain(
                    [&scps, &rcps]
                        .into_iter()
                        .flatten()
                        .flat_map(|levels| levels.iter().flatten()),
                )
                .next()
                .map(|p| p.pool.clone()),
        );
        Ok(Case {
            id,
            identity_policies,
            resource_policy,
            permission_boundaries,
            session_policy,
            scps,
            rcps,
            request,
        })
    }

    /// The evaluation input for this case.
    pub fn input(&self) -> EvalInput<'_> {
        EvalInput {
            request: &self.request,
            identity_policies: &self.identity_policies,
            resource_policy: self.resource_policy.as_ref(),
            permission_boundaries: &self.permission_boundaries,
            session_policy: self.session_policy.as_ref(),
            scps: self.scps.as_deref(),
            rcps: self.rcps.as_deref(),
        }
    }
}

fn array<'a>(n: &'a Node, field: &str) -> Result<&'a [Node], CaseError> {
    match &n.value {
        Json::Array(items) => Ok(items),
        _ => Err(CaseError::WrongType {
            field: field.to_owned(),
            expected: "an array",
        }),
    }
}

/// Policies per organization level, root first.
type Levels<T> = Vec<Vec<T>>;

/// Reads, compiles and (if `strict`) validates one policy, leaving its
/// records unpacked for the case's pool.
fn policy(n: &Node, field: &str, kind: PolicyType, strict: bool) -> Result<Unpacked, CaseError> {
    let p = Policy::from_json(n).map_err(|e| CaseError::Policy {
        field: field.to_owned(),
        message: e.to_string(),
        line: e.loc().line,
        col: e.loc().col,
    })?;
    let compiled = CompiledPolicy::unpacked(p, kind);
    if !strict {
        return Ok(compiled);
    }
    if let Some(d) = validate_compiled(&compiled.policy, kind)
        .into_iter()
        .find(|d| d.is_error())
    {
        let loc = d.loc.unwrap_or(compiled.policy.source().loc);
        return Err(CaseError::Policy {
            field: field.to_owned(),
            message: d.message,
            line: loc.line,
            col: loc.col,
        });
    }
    Ok(compiled)
}

fn text<'a>(n: Option<&'a Node>, field: &'static str) -> Result<Option<&'a str>, CaseError> {
    match n.map(|n| &n.value) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(CaseError::WrongType {
            field: field.into(),
            expected: "a string",
        }),
    }
}

fn request(n: &Node) -> Result<Request, CaseError> {
    if !matches!(n.value, Json::Object(_)) {
        return Err(CaseError::WrongType {
            field: "request".into(),
            expected: "an object",
        });
    }
    let get = |k| n.value.get(k);
    let action =
        text(get("action"), "request.action")?.ok_or(CaseError::Missing("request.action"))?;
    let resource =
        text(get("resource"), "request.resource")?.ok_or(CaseError::Missing("request.resource"))?;
    let principal = text(get("principal"), "request.principal")?
        .ok_or(CaseError::Missing("request.principal"))?;
    let account = text(get("resourceAccount"), "request.resourceAccount")?;
    let mut context = Context::default();
    match get("context").map(|c| &c.value) {
        None | Some(Json::Null) => {}
        Some(Json::Object(members)) => {
            let mut pairs = Vec::with_capacity(members.len());
            for m in members {
                let bad = || CaseError::WrongType {
                    field: format!("request.context.{}", m.key),
                    expected: "a string, number, boolean or an array of them",
                };
                let scalar = |v: &Json| match v {
                    Json::String(s) | Json::Number(s) => Some(s.clone()),
                    Json::Bool(b) => Some(b.to_string()),
                    _ => None,
                };
                let value = match &m.value.value {
                    Json::Array(items) => ContextValue::Many(
                        items
                            .iter()
                            .map(|i| scalar(&i.value).ok_or_else(bad))
                            .collect::<Result<_, _>>()?,
                    ),
                    other => ContextValue::One(scalar(other).ok_or_else(bad)?),
                };
                pairs.push((m.key.clone(), value));
            }
            context.extend(pairs);
        }
        Some(_) => {
            return Err(CaseError::WrongType {
                field: "request.context".into(),
                expected: "an object",
            })
        }
    }
    Ok(Request::new(action, resource, account, principal, context)?)
}
