//! Which properties' events a poll may see: the token's scope (staff see only
//! their properties) intersected with the query's `property_id` list. Both are
//! optional; the intersection is computed once, when the poll starts.

/// The properties a poll may see. `None` inside means every property.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PropertyFilter {
    allowed: Option<Box<[Box<str>]>>,
}

impl PropertyFilter {
    /// Every property of the org.
    pub fn all() -> Self {
        PropertyFilter { allowed: None }
    }

    /// `scope`: the properties the token may see (`None` = all of them).
    /// `query`: the poll's `property_id` list (`None` = no narrowing). An
    /// empty list on either side lets nothing through.
    pub fn new(scope: Option<Vec<String>>, query: Option<Vec<String>>) -> Self {
        let allowed: Option<Vec<String>> = match (scope, query) {
            (None, None) => None,
            (Some(only), None) | (None, Some(only)) => Some(only),
            (Some(scope), Some(query)) => {
                Some(query.into_iter().filter(|p| scope.contains(p)).collect())
            }
        };
        PropertyFilter {
            allowed: allowed.map(|mut ids| {
                ids.sort_unstable();
                ids.dedup();
                ids.into_iter().map(String::into_boxed_str).collect()
            }),
        }
    }

    pub fn allows(&self, property_id: &str) -> bool {
        match &self.allowed {
            None => true,
            // A handful of properties at most: a scan beats hashing.
            Some(ids) => ids.iter().any(|id| &**id == property_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn scope_and_query_are_intersected() {
        let f = PropertyFilter::new(ids(&["p1", "p2"]), ids(&["p2", "p3"]));
        assert!(!f.allows("p1"));
        assert!(f.allows("p2"));
        assert!(!f.allows("p3"));
    }

    #[test]
    fn either_side_alone_narrows_and_none_allows_all() {
        assert!(PropertyFilter::new(None, None).allows("anything"));
        assert!(PropertyFilter::all().allows("anything"));
        let staff = PropertyFilter::new(ids(&["p1"]), None);
        assert!(staff.allows("p1") && !staff.allows("p2"));
        let query = PropertyFilter::new(None, ids(&["p2"]));
        assert!(query.allows("p2") && !query.allows("p1"));
    }

    #[test]
    fn a_query_outside_the_scope_sees_nothing() {
        let f = PropertyFilter::new(ids(&["p1"]), ids(&["p2"]));
        assert!(!f.allows("p1") && !f.allows("p2"));
    }
}
