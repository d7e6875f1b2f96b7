//! Access requests: what can be requested ([`target`]), who decides
//! ([`policy`]), and the life of a request ([`lifecycle`]).

pub mod approval;
pub mod glob;
pub mod lifecycle;
pub mod notice;
pub mod policy;
pub mod provision;
pub mod request;
pub mod target;
