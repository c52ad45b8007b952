//! Keyset pagination of the transaction list. Pages are ordered newest first
//! by `(occurred_on, id)`; the opaque `after=` token is the key of the last
//! row of the previous page, base64url-encoded.

use std::{fmt, str::FromStr};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::NaiveDate;

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    pub occurred_on: NaiveDate,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad `after` cursor: pass the `next` value of the previous page")]
pub struct PageCursorError;

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = format!("{}|{}", self.occurred_on.format("%Y-%m-%d"), self.id);
        f.write_str(&URL_SAFE_NO_PAD.encode(raw))
    }
}

impl FromStr for PageCursor {
    type Err = PageCursorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > 256 {
            return Err(PageCursorError);
        }
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| PageCursorError)?;
        let raw = String::from_utf8(raw).map_err(|_| PageCursorError)?;
        let (date, id) = raw.split_once('|').ok_or(PageCursorError)?;
        let occurred_on =
            NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| PageCursorError)?;
        if id.is_empty() {
            return Err(PageCursorError);
        }
        Ok(PageCursor {
            occurred_on,
            id: id.to_owned(),
        })
    }
}

/// Rows per page: 1 to [`PageLimit::MAX`], [`PageLimit::DEFAULT`] when omitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limit must be between 1 and {max}", max = PageLimit::MAX)]
pub struct PageLimitError;

impl PageLimit {
    pub const DEFAULT: PageLimit = PageLimit(50);
    pub const MAX: u32 = 5000;

    pub fn new(n: u32) -> Result<Self, PageLimitError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(PageLimit(n))
        } else {
            Err(PageLimitError)
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = PageCursor {
            occurred_on: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            id: "0193-abc|def".into(),
        };
        assert_eq!(c.to_string().parse::<PageCursor>(), Ok(c));
    }

    #[test]
    fn garbage_cursors_are_refused() {
        let no_sep = URL_SAFE_NO_PAD.encode("2026-11-27");
        let bad_date = URL_SAFE_NO_PAD.encode("2026-13-01|x");
        let no_id = URL_SAFE_NO_PAD.encode("2026-11-27|");
        for bad in ["", "!!!", &no_sep, &bad_date, &no_id, &"A".repeat(300)] {
            assert_eq!(bad.parse::<PageCursor>(), Err(PageCursorError), "{bad}");
        }
    }

    #[test]
    fn limit_is_bounded() {
        assert_eq!(PageLimit::new(1).unwrap().get(), 1);
        assert_eq!(PageLimit::new(5000).unwrap().get(), 5000);
        assert_eq!(PageLimit::new(0), Err(PageLimitError));
        assert_eq!(PageLimit::new(5001), Err(PageLimitError));
    }
}
