//! Parsed access policies by org and version. A stored version never
//! changes, so nothing cached here is ever stale: requests decided under
//! one version skip reading and parsing it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use latch_core::access::policy::Policy;

/// Versions kept per org: the current one and a few before it, for the
/// requests still pending under them.
const PER_ORG: usize = 4;

/// An org's cached versions, newest first.
type Versions = Vec<(i64, Arc<Policy>)>;

/// See the module documentation.
#[derive(Default)]
pub struct PolicyCache(Mutex<HashMap<String, Versions>>);

impl PolicyCache {
    /// Version `version` of the org's policy, if cached.
    pub fn get(&self, org_id: &str, version: i64) -> Option<Arc<Policy>> {
        let cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(org_id)?.iter().find(|(v, _)| *v == version).map(|(_, p)| p.clone())
    }

    /// Keeps `policy` as version `version`, dropping the org's oldest
    /// version beyond [`PER_ORG`].
    pub fn put(&self, org_id: &str, version: i64, policy: Arc<Policy>) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let versions = cache.entry(org_id.to_owned()).or_default();
        if versions.iter().any(|(v, _)| *v == version) {
            return;
        }
        versions.push((version, policy));
        versions.sort_by_key(|(v, _)| std::cmp::Reverse(*v));
        versions.truncate(PER_ORG);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str) -> Arc<Policy> {
        let source = format!("[[rule]]\nname = \"{name}\"\nrequesters = \"any\"\nresource = {{ kinds = [\"role\"] }}\napproval = \"auto\"\n");
        Arc::new(Policy::parse(&source).unwrap())
    }

    #[test]
    fn keeps_the_newest_versions_per_org() {
        let cache = PolicyCache::default();
        for v in 1..=6 {
            cache.put("org_a", v, policy(&format!("v{v}")));
        }
        cache.put("org_b", 1, policy("b1"));
        assert!(cache.get("org_a", 2).is_none());
        assert_eq!(cache.get("org_a", 6).unwrap().rules[0].name, "v6");
        assert_eq!(cache.get("org_a", 3).unwrap().rules[0].name, "v3");
        assert_eq!(cache.get("org_b", 1).unwrap().rules[0].name, "b1");
        assert!(cache.get("org_b", 6).is_none(), "orgs are apart");
    }
}
