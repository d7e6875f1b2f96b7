//! `latch-iam`: reads, validates and evaluates AWS IAM policies the way AWS
//! does, following AWS's published policy evaluation logic.
//!
//! The pipeline has the shape of a compiler: [`json`] reads text with
//! locations, [`parser`] builds the [`ast`], [`mod@validate`] reports problems as
//! [`Diagnostic`]s, [`compile`] turns a policy into a [`CompiledPolicy`] that
//! matches requests without re-parsing or allocating, and [`eval`] decides a
//! [`Request`] against a set of policies; [`effective`] answers who can do
//! what across a whole inventory of users, roles and policies. [`batch`] is the JSON-lines
//! interface used by `latch iam simulate --jsonl`, tests and benchmarks.
//!
//! ```
//! use latch_iam::eval::{Context, ContextValue};
//! use latch_iam::{decide, CompiledPolicy, EvalInput, Outcome, Request};
//!
//! let policy = CompiledPolicy::parse(r#"{"Version": "2012-10-17", "Statement": {
//!     "Effect": "Allow", "Action": "s3:GetObject",
//!     "Resource": "arn:aws:s3:::docs/${aws:username}/*"}}"#).unwrap();
//! let mut context = Context::default();
//! context.insert("aws:username", ContextValue::One("alice".into()));
//! let request = Request::new("s3:GetObject", "arn:aws:s3:::docs/alice/a.txt",
//!     Some("111111111111"), "arn:aws:iam::111111111111:user/alice", context).unwrap();
//! let policies = [policy];
//! assert_eq!(decide(&EvalInput::new(&request, &policies)), Outcome::Allowed);
//! ```
#![warn(missing_docs)]

pub mod ast;
pub mod batch;
pub mod compile;
pub mod diag;
pub mod effective;
pub mod eval;
pub mod json;
pub mod parser;
pub mod validate;

pub use ast::Policy;
pub use batch::{explain_case, simulate_jsonl, simulate_line, BatchStats, Case, CaseError};
pub use compile::CompiledPolicy;
pub use diag::Diagnostic;
pub use eval::{decide, evaluate, Decision, EvalInput, Outcome, Request};
pub use parser::ParseError;
pub use validate::{validate, validate_compiled, validate_file, PolicyType};
