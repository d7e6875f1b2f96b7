//! One module per command group; each verb is a function.

pub mod admin;
pub mod aws;
pub mod completions;
pub mod effective;
pub mod enroll;
pub mod iam;
pub mod login;
pub mod logout;
pub mod ls;
pub mod requests;
pub mod server;
pub mod whoami;
