//! Which properties' events a poll may see: the token's scope (staff see only
//! their properties) intersected with the query's `property_id` list. Both are
//! optional; the intersection is computed once, when the poll starts.
//!
//! [`PropertyFilter::view`] is what a reader gets of an event: org-wide
//! events reach everyone; a row that moved between properties reaches a
//! reader of only the old property as a bare removal, and never names a
//! property the reader may not see.

use std::sync::Arc;

use ledgerline_wire::Event;

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

    /// What a reader with this filter receives of `event`, if anything.
    pub fn view(&self, event: &Arc<Event>) -> Option<Arc<Event>> {
        if event.kind.is_org_wide() {
            return Some(Arc::clone(event));
        }
        let from = event.moved_from_property_id.as_deref();
        if self.allows(&event.property_id) {
            return Some(match from {
                Some(from) if !self.allows(from) => Arc::new(Event {
                    moved_from_property_id: None,
                    ..Event::clone(event)
                }),
                _ => Arc::clone(event),
            });
        }
        match from {
            Some(from) if self.allows(from) => event.moved_out().map(Arc::new),
            _ => None,
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

    fn moved(from: &str, to: &str) -> Arc<Event> {
        let mut e = crate::realtime::tests::event(9, to);
        e.kind = ledgerline_wire::EventType::Updated;
        e.moved_from_property_id = Some(from.into());
        Arc::new(e)
    }

    #[test]
    fn a_row_moved_away_reaches_a_reader_of_the_old_property_as_a_bare_removal() {
        let p1_only = PropertyFilter::new(ids(&["p1"]), None);
        let seen = p1_only.view(&moved("p1", "p2")).expect("a removal");
        assert_eq!(seen.kind, ledgerline_wire::EventType::Deleted);
        assert_eq!(seen.property_id, "p1");
        assert_eq!(
            serde_json::to_value(&seen.row).unwrap(),
            serde_json::json!({"id": moved("p1", "p2").row.id()})
        );
        assert_eq!(seen.moved_from_property_id, None);
        assert_eq!(seen.client_mutation_id, None);
    }

    #[test]
    fn a_row_moved_in_does_not_name_a_property_the_reader_cannot_see() {
        let p2_only = PropertyFilter::new(ids(&["p2"]), None);
        let seen = p2_only.view(&moved("p1", "p2")).expect("the update");
        assert_eq!(seen.kind, ledgerline_wire::EventType::Updated);
        assert_eq!(seen.moved_from_property_id, None);
        // Who sees both gets the update as it is, naming where it came from.
        let all = PropertyFilter::all().view(&moved("p1", "p2")).unwrap();
        assert_eq!(all.moved_from_property_id.as_deref(), Some("p1"));
        // Who sees neither gets nothing.
        assert!(PropertyFilter::new(ids(&["p3"]), None)
            .view(&moved("p1", "p2"))
            .is_none());
    }

    #[test]
    fn org_wide_events_pass_every_filter() {
        let mut e = crate::realtime::tests::event(3, "");
        e.kind = ledgerline_wire::EventType::LockDate;
        e.row = ledgerline_wire::EventRow::LockDate { lock_date: None };
        let e = Arc::new(e);
        assert!(PropertyFilter::new(ids(&["p1"]), ids(&["p1"]))
            .view(&e)
            .is_some());
        assert!(PropertyFilter::new(ids(&[]), None).view(&e).is_some());
    }

    #[test]
    fn a_query_outside_the_scope_sees_nothing() {
        let f = PropertyFilter::new(ids(&["p1"]), ids(&["p2"]));
        assert!(!f.allows("p1") && !f.allows("p2"));
    }
}
