//! A statement's scope as written (its action and resource patterns, or
//! their `Not…` complements) and how two scopes relate: may they share a
//! request (a deny narrows a grant), and how much of a grant a permissions
//! boundary lets through.

use super::glob::{covers, overlap};
use super::report::{BoundaryFit, StatementAt};
use crate::compile::{CompiledPolicy, CompiledStatement};

/// The patterns of one element: `Action`/`Resource`, or the complement of
/// `NotAction`/`NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Set {
    pub patterns: Vec<String>,
    pub not: bool,
    /// Actions compare without regard to case; resources do not.
    pub fold: bool,
}

impl Set {
    /// A set of one pattern.
    pub fn one(pattern: &str, fold: bool) -> Set {
        Set {
            patterns: vec![pattern.to_owned()],
            not: false,
            fold,
        }
    }

    /// Whether some value is in both sets.
    pub fn overlaps(&self, other: &Set) -> bool {
        let fold = self.fold;
        let (a, b) = (&self.patterns, &other.patterns);
        match (self.not, other.not) {
            (false, false) => a.iter().any(|x| b.iter().any(|y| overlap(x, y, fold))),
            (false, true) => a.iter().any(|x| !b.iter().any(|y| covers(y, x, fold))),
            (true, false) => b.iter().any(|y| !a.iter().any(|x| covers(x, y, fold))),
            // Two complements of finite sets always share values.
            (true, true) => true,
        }
    }

    /// Whether every value of `inner` is in this set.
    pub fn covers(&self, inner: &Set) -> bool {
        let fold = self.fold;
        let (o, i) = (&self.patterns, &inner.patterns);
        match (self.not, inner.not) {
            (false, false) => i.iter().all(|x| o.iter().any(|y| covers(y, x, fold))),
            (false, true) => o.iter().any(|y| covers(y, "*", fold)),
            (true, false) => i.iter().all(|x| !o.iter().any(|y| overlap(y, x, fold))),
            (true, true) => o.iter().all(|y| i.iter().any(|x| covers(x, y, fold))),
        }
    }
}

/// A statement's scope.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    pub at: StatementAt,
    pub actions: Set,
    pub resources: Set,
    pub conditional: bool,
}

/// A statement's actions as written.
pub(super) fn actions_of(c: &CompiledPolicy, s: &CompiledStatement) -> Set {
    let written = c.source().statements.items.get(s.index);
    Set {
        patterns: written
            .map(|w| w.action.values.iter().map(|v| v.value.clone()).collect())
            .unwrap_or_default(),
        not: s.not_action,
        fold: true,
    }
}

impl Scope {
    /// The scope of statement `s` of `c`.
    pub fn of(c: &CompiledPolicy, s: &CompiledStatement, at: StatementAt) -> Scope {
        let written = c.source().statements.items.get(s.index);
        let resources = match written.and_then(|w| w.resource.as_ref()) {
            Some(r) => Set {
                patterns: r.values.iter().map(|v| v.value.clone()).collect(),
                not: r.negated,
                fold: false,
            },
            None => Set::one("*", false),
        };
        Scope {
            at,
            actions: actions_of(c, s),
            resources,
            conditional: written
                .is_some_and(|w| w.condition.as_ref().is_some_and(|c| !c.is_empty())),
        }
    }

    /// Whether some request may fall in both scopes.
    pub fn overlaps(&self, other: &Scope) -> bool {
        self.actions.overlaps(&other.actions) && self.resources.overlaps(&other.resources)
    }

    /// The part of this grant a boundary's `Allow` statements let through:
    /// the action patterns kept, and whether that is all of it. `None` when
    /// the boundary lets none of it through.
    pub fn within(&self, bounds: &[Scope]) -> Option<(Vec<String>, BoundaryFit)> {
        let relevant: Vec<&Scope> = bounds
            .iter()
            .filter(|b| b.resources.overlaps(&self.resources))
            .collect();
        let kept: Vec<String> = if self.actions.not {
            let any = relevant.iter().any(|b| b.actions.overlaps(&self.actions));
            if !any {
                return None;
            }
            self.actions.patterns.clone()
        } else {
            let mut kept = Vec::new();
            for a in &self.actions.patterns {
                for b in &relevant {
                    kept.extend(meet(a, &b.actions));
                }
            }
            let mut seen = std::collections::HashSet::new();
            kept.retain(|k| seen.insert(k.to_ascii_lowercase()));
            kept
        };
        if kept.is_empty() {
            return None;
        }
        let whole = |b: &Scope| !b.conditional && b.resources.covers(&self.resources);
        let covered = if self.actions.not {
            relevant
                .iter()
                .any(|b| whole(b) && b.actions.covers(&self.actions))
        } else {
            self.actions.patterns.iter().all(|a| {
                relevant
                    .iter()
                    .any(|b| whole(b) && b.actions.covers(&Set::one(a, true)))
            })
        };
        let fit = if covered {
            BoundaryFit::Covers
        } else {
            BoundaryFit::Narrows
        };
        Some((kept, fit))
    }
}

/// What of action pattern `a` a boundary statement's actions let through,
/// as patterns: `a` itself where the boundary holds all of it, the
/// boundary's narrower pattern where `a` holds all of that, else `a`
/// (partly let through).
fn meet(a: &str, bound: &Set) -> Vec<String> {
    if bound.not {
        let inside = Set::one(a, true);
        return if bound.overlaps(&inside) {
            vec![a.to_owned()]
        } else {
            Vec::new()
        };
    }
    bound
        .patterns
        .iter()
        .filter(|b| overlap(a, b, true))
        .map(|b| {
            if !covers(b, a, true) && covers(a, b, true) {
                b.clone()
            } else {
                a.to_owned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str], not: bool) -> Set {
        Set {
            patterns: patterns.iter().map(|s| (*s).to_owned()).collect(),
            not,
            fold: true,
        }
    }

    #[test]
    fn set_relations() {
        for (a, b, over, cov) in [
            (
                set(&["s3:*"], false),
                set(&["s3:GetObject"], false),
                true,
                true,
            ),
            (
                set(&["s3:*"], true),
                set(&["s3:GetObject"], false),
                false,
                false,
            ),
            (
                set(&["iam:*"], true),
                set(&["s3:GetObject"], false),
                true,
                true,
            ),
            (set(&["s3:Get*"], false), set(&["s3:*"], true), false, false),
            (set(&["*"], false), set(&["s3:*"], true), true, true),
            (
                set(&["s3:*"], true),
                set(&["s3:*", "iam:*"], true),
                true,
                true,
            ),
            (
                set(&["s3:*", "iam:*"], true),
                set(&["s3:*"], true),
                true,
                false,
            ),
        ] {
            assert_eq!(a.overlaps(&b), over, "{a:?} overlaps {b:?}");
            assert_eq!(a.covers(&b), cov, "{a:?} covers {b:?}");
        }
    }
}
