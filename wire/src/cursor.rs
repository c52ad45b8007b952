//! The long-poll cursor. On the wire it is an opaque string; inside it is the
//! org's event `seq` the holder has seen everything up to (inclusive). It is
//! the same on every server instance and survives restarts, because `seq` is
//! durable and per org.

use std::{fmt, str::FromStr};

/// "Everything up to and including `seq` has been seen."
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cursor(pub u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad cursor {0:?}: expected a cursor returned by /v1/realtime/poll")]
pub struct CursorError(pub String);

impl Cursor {
    pub fn seq(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Cursor {
    type Err = CursorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Digits only: `u64::from_str` would also take a leading '+'.
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CursorError(s.to_owned()));
        }
        s.parse().map(Cursor).map_err(|_| CursorError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        assert_eq!("42".parse::<Cursor>(), Ok(Cursor(42)));
        assert_eq!(Cursor(42).to_string(), "42");
        for bad in ["", "-1", "+1", "abc", "1.5", "99999999999999999999999"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad} should be refused");
        }
    }
}
