//! Integration tests for latch-iam, in one test binary. Modules are
//! `cfg(test)` so that the workspace's test allowances (unwrap, panic,
//! indexing) cover their helpers too.

#[cfg(test)]
mod differential;
#[cfg(test)]
mod evaluation;
#[cfg(test)]
mod gen;
#[cfg(test)]
mod properties;
