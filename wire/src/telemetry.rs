//! `POST /v1/telemetry`: the desktop core's counters, uploaded by a
//! sampled few of its sessions as the increase since their last upload;
//! the server sums them into `/metrics`.

use serde::{Deserialize, Serialize};

/// The largest increase of one counter in one upload; more is refused (a
/// session uploads at most once a minute, so this is far past any real one).
pub const MAX_COUNTER_DELTA: u64 = 1_000_000_000;

/// Each counter's increase since the session's previous upload. A counter
/// left out is 0 (so a server knowing more counters than a client accepts
/// its uploads); a name the server does not know is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelemetryUpload {
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub leader_acquired: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub leader_lost: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub follower_suppressed_polls: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub derived_debounce_fired: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub polls: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub events_applied: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub aggregate_fetches: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub events_skipped: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub cache_write_failures: u64,
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub offline_probes: u64,
}

impl TelemetryUpload {
    /// The counters' names, in the order of [`TelemetryUpload::values`].
    pub const NAMES: [&'static str; 10] = [
        "leader_acquired",
        "leader_lost",
        "follower_suppressed_polls",
        "derived_debounce_fired",
        "polls",
        "events_applied",
        "aggregate_fetches",
        "events_skipped",
        "cache_write_failures",
        "offline_probes",
    ];

    /// The counters' values, in the order of [`TelemetryUpload::NAMES`].
    pub fn values(&self) -> [u64; 10] {
        [
            self.leader_acquired,
            self.leader_lost,
            self.follower_suppressed_polls,
            self.derived_debounce_fired,
            self.polls,
            self.events_applied,
            self.aggregate_fetches,
            self.events_skipped,
            self.cache_write_failures,
            self.offline_probes,
        ]
    }

    /// The first counter above [`MAX_COUNTER_DELTA`], if any.
    pub fn too_large(&self) -> Option<&'static str> {
        Self::NAMES
            .into_iter()
            .zip(self.values())
            .find(|(_, v)| *v > MAX_COUNTER_DELTA)
            .map(|(name, _)| name)
    }

    /// Whether every counter is 0 (nothing worth sending).
    pub fn is_empty(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_line_up_with_the_fields() {
        let upload = TelemetryUpload {
            leader_lost: 2,
            offline_probes: 7,
            ..TelemetryUpload::default()
        };
        let json = serde_json::to_value(upload).unwrap();
        for (name, value) in TelemetryUpload::NAMES.into_iter().zip(upload.values()) {
            assert_eq!(json[name], value, "{name}");
        }
        assert_eq!(
            json.as_object().unwrap().len(),
            TelemetryUpload::NAMES.len()
        );
    }

    #[test]
    fn missing_counters_are_zero_and_unknown_ones_are_refused() {
        let upload: TelemetryUpload = serde_json::from_str(r#"{"polls": 3}"#).unwrap();
        assert_eq!(upload.polls, 3);
        assert_eq!(upload.leader_lost, 0);
        assert!(serde_json::from_str::<TelemetryUpload>(r#"{"bogus": 1}"#).is_err());
        // JSON Schema's integers include 3.0; fractions and negatives are out.
        let whole: TelemetryUpload = serde_json::from_str(r#"{"polls": 3.0}"#).unwrap();
        assert_eq!(whole.polls, 3);
        for bad in [
            r#"{"polls": 3.5}"#,
            r#"{"polls": -1}"#,
            r#"{"polls": null}"#,
        ] {
            assert!(
                serde_json::from_str::<TelemetryUpload>(bad).is_err(),
                "{bad}"
            );
        }
        let big = TelemetryUpload {
            events_applied: MAX_COUNTER_DELTA + 1,
            ..TelemetryUpload::default()
        };
        assert_eq!(big.too_large(), Some("events_applied"));
    }
}
