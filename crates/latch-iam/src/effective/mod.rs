//! Effective access over a whole inventory: who can perform a request
//! ([`Inventory::who_can`]) and what a principal can do
//! ([`Inventory::what_can`]), and who outside the inventory a resource
//! policy lets in ([`Inventory::who_can_from_outside`]), decided by the same engine as single
//! requests.
//!
//! An [`Inventory`] is built once from neutral [`Sources`] (users, roles,
//! groups, managed and inline policies, boundaries, trust policies,
//! resource policies, and the SCPs and RCPs of organizations): every document is compiled once, and principals are
//! indexed by the services their policies may grant, so a question
//! evaluates only the principals that could be allowed. Building and
//! asking do no I/O; an inventory is immutable, `Send` and `Sync`.

mod assume;
mod build;
mod err;
mod glob;
mod inventory;
mod keys;
mod model;
mod outside;
mod report;
mod scan;
mod scope;
mod what;
mod who;

#[cfg(test)]
mod key_tests;
#[cfg(test)]
mod org_tests;
#[cfg(test)]
mod outside_tests;
#[cfg(test)]
mod tests;

pub use assume::MAX_HOPS;
pub use err::{BuildError, Problem, QueryError};
pub use inventory::Inventory;
pub use keys::SESSION_NAME;
pub use model::{
    GroupSpec, InlinePolicy, ManagedPolicy, OrgAccount, OrgLevel, OrgPolicy, OrgPolicyKind,
    Organization, ResourcePolicy, RoleSpec, Sources, UserSpec,
};
pub use outside::{OutsideAccess, Outsider};
pub use report::{
    AssumePath, AssumeStep, BoundaryFit, Capability, Entity, ExactDecision, Finding, Grant,
    PolicyId, StatementAt,
};
pub use what::Filter;
