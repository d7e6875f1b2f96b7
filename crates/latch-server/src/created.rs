//! Requests this replica created, as it created them, so that approving
//! one here need not read it back. What decides an approval that is
//! enough on its own never changes after creation (who asked, under which
//! rule of which policy version, for what); whether it is still pending is
//! settled by the approval's own move, which is made only from `pending`.
//! An entry that is out of date (the request was decided or cancelled
//! elsewhere) only costs that move failing, and then the request is read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use latch_core::access::request::Request;

/// Most entries; past it the map starts over (an approval then reads).
const MAX: usize = 4096;

/// Requests created here, by id.
#[derive(Debug, Default)]
pub struct Created(Mutex<HashMap<String, Arc<Request>>>);

impl Created {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Request>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers `r`, just created here.
    pub fn put(&self, r: &Request) {
        let mut map = self.map();
        if map.len() >= MAX {
            map.clear();
        }
        map.insert(r.id.clone(), Arc::new(r.clone()));
    }

    /// Request `id` of `org_id` as it was created, if created here.
    pub fn get(&self, org_id: &str, id: &str) -> Option<Arc<Request>> {
        self.map().get(id).filter(|r| r.org_id == org_id).cloned()
    }

    /// Request `id` was decided or withdrawn.
    pub fn forget(&self, id: &str) {
        self.map().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_core::access::lifecycle::State;
    use latch_core::access::request::NewRequest;
    use latch_core::Timestamp;

    fn request(org: &str, id: &str) -> Request {
        let new = NewRequest {
            id: id.into(),
            requester_id: "u".into(),
            requester_email: "a@b.c".into(),
            rule: "r".into(),
            policy_version: 1,
            reason: String::new(),
            duration: std::time::Duration::from_secs(60),
            state: State::Pending,
            pending_until: Timestamp(0),
            targets: Vec::new(),
        };
        new.created(org, Timestamp(0))
    }

    #[test]
    fn entries_are_per_org_and_forgotten() {
        let c = Created::default();
        c.put(&request("o1", "req_1"));
        assert!(c.get("o1", "req_1").is_some());
        assert!(c.get("o2", "req_1").is_none(), "another org's id is not found");
        c.forget("req_1");
        assert!(c.get("o1", "req_1").is_none());
        for i in 0..=MAX {
            c.put(&request("o1", &format!("req_{i}")));
        }
        assert!(c.map().len() <= MAX);
    }
}
