//! The long-poll cursor. On the wire it is an opaque string, `epoch.seq`:
//! the org's event `seq` the holder has seen everything up to (inclusive),
//! and the epoch of the database that issued it. `seq` is durable and per
//! org, so a cursor is good on every server instance of one database and
//! survives restarts; the epoch tells a cursor from another database — or
//! from before a backup was restored — so the server answers it with
//! `reset: true` instead of silently skipping events.
//!
//! A bare number (what servers issued before epochs) still parses, with no
//! epoch; servers take it as their own database's.

use std::{fmt, str::FromStr};

/// Most characters in an epoch.
pub const MAX_EPOCH_LEN: usize = 16;

/// "Everything up to and including `seq` of the database `epoch` has been
/// seen."
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Cursor {
    epoch: Option<String>,
    seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad cursor {0:?}: expected a cursor returned by /v1/realtime/poll")]
pub struct CursorError(pub String);

impl Cursor {
    /// A cursor without an epoch (the pre-epoch form).
    pub fn at(seq: u64) -> Self {
        Cursor { epoch: None, seq }
    }

    /// A cursor of the database `epoch`. Panics on an epoch that would not
    /// parse back (servers make their own, see [`is_epoch`]).
    pub fn with_epoch(epoch: &str, seq: u64) -> Self {
        assert!(is_epoch(epoch), "bad epoch {epoch:?}");
        Cursor {
            epoch: Some(epoch.to_owned()),
            seq,
        }
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }
}

/// 1 to [`MAX_EPOCH_LEN`] ASCII letters and digits.
pub fn is_epoch(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_EPOCH_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.epoch {
            Some(epoch) => write!(f, "{epoch}.{}", self.seq),
            None => write!(f, "{}", self.seq),
        }
    }
}

impl FromStr for Cursor {
    type Err = CursorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CursorError(s.chars().take(64).collect());
        let (epoch, seq) = match s.split_once('.') {
            Some((epoch, seq)) if is_epoch(epoch) => (Some(epoch.to_owned()), seq),
            Some(_) => return Err(bad()),
            None => (None, s),
        };
        // Digits only: `u64::from_str` would also take a leading '+'.
        if seq.is_empty() || seq.len() > 20 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let seq = seq.parse().map_err(|_| bad())?;
        Ok(Cursor { epoch, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        assert_eq!("42".parse::<Cursor>(), Ok(Cursor::at(42)));
        assert_eq!(Cursor::at(42).to_string(), "42");
        let c: Cursor = "k3x9ab01.42".parse().unwrap();
        assert_eq!((c.epoch(), c.seq()), (Some("k3x9ab01"), 42));
        assert_eq!(c.to_string(), "k3x9ab01.42");
        assert_eq!(Cursor::with_epoch("e", 7).to_string(), "e.7");
        for bad in [
            "",
            "-1",
            "+1",
            "abc",
            "1.5.",
            ".5",
            "e.",
            "e.+5",
            "e.-5",
            "e-1.5",
            "e.1.5",
            "abcdefghijklmnopq.1",
            "99999999999999999999999",
            "18446744073709551616",
            "e.18446744073709551616",
        ] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad} should be refused");
        }
        assert_eq!(
            "18446744073709551615".parse::<Cursor>().unwrap().seq(),
            u64::MAX
        );
    }
}
