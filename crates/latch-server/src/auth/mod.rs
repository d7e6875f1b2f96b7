//! Who is calling: bearer tokens (API, CLI access) and session cookies with
//! CSRF protection; the password sign-in rate limiter.

pub mod caller;
pub mod cookie;
pub mod limiter;

pub use caller::Caller;
