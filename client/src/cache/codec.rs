//! The journal's body: one poll answer's entries — each a row's final
//! state or its deletion — or the ids a later write settled (`Forget`),
//! in a compact binary form (little-endian
//! integers, length-prefixed UTF-8), read back exactly as written. A
//! hand-written format rather than JSON: it is on the apply path, once per
//! row.

use chrono::{DateTime, NaiveDate, Utc};
use ledgerline_wire::{TransactionKind, TransactionStatus};

use super::queries::bad;
use crate::view::Row;

/// One journal entry, in the order it was applied.
// Nearly every entry is a put: boxing its row would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The row as it now is; `new`: the cache held no row with its id
    /// when it was applied (a hint for the fold: insert, no look-up).
    Put {
        row: Row,
        new: bool,
    },
    Delete {
        id: String,
    },
    /// Another write wrote the id's journaled state into `rows` and then
    /// changed it: what the journal held of it before is not to be replayed.
    Forget {
        id: String,
    },
}

const DELETE: u8 = 0;
const PUT: u8 = 1;
const PUT_NEW: u8 = 2;
const FORGET: u8 = 3;

/// Appends entries to a body.
#[derive(Default)]
pub(crate) struct Encoder {
    buf: Vec<u8>,
    pub(crate) count: usize,
}

impl Encoder {
    /// An encoder with room for about `rows` rows.
    pub(crate) fn with_capacity(rows: usize) -> Encoder {
        Encoder {
            buf: Vec::with_capacity(rows * 192),
            count: 0,
        }
    }

    pub(crate) fn put(&mut self, r: &Row, new: bool) {
        self.count += 1;
        let b = &mut self.buf;
        b.push(if new { PUT_NEW } else { PUT });
        str(b, &r.id);
        str(b, r.kind.as_str());
        str(b, &r.property_id);
        b.extend_from_slice(&r.amount_minor.to_le_bytes());
        str(b, r.currency.as_str());
        str(b, &r.category);
        str(b, &r.memo);
        b.extend_from_slice(&r.occurred_on.to_epoch_days().to_le_bytes());
        str(b, r.status.as_str());
        b.extend_from_slice(&r.version.to_le_bytes());
        opt(b, r.client_mutation_id.as_deref());
        str(b, &r.created_by);
        time(b, r.created_at);
        time(b, r.updated_at);
        b.push(u8::from(r.pending_sync));
        opt(b, r.sync_error.as_deref());
        opt(b, r.rejection_reason.as_deref());
    }

    pub(crate) fn delete(&mut self, id: &str) {
        self.count += 1;
        self.buf.push(DELETE);
        str(&mut self.buf, id);
    }

    pub(crate) fn forget(&mut self, id: &str) {
        self.count += 1;
        self.buf.push(FORGET);
        str(&mut self.buf, id);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

fn str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn opt(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => b.push(0),
        Some(s) => {
            b.push(1);
            str(b, s);
        }
    }
}

fn time(b: &mut Vec<u8>, t: DateTime<Utc>) {
    b.extend_from_slice(&t.timestamp().to_le_bytes());
    b.extend_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
}

/// Reads a body back into its entries.
pub(crate) fn decode(body: &[u8]) -> Result<Vec<Entry>, sqlx::Error> {
    let mut r = Reader { b: body };
    let mut entries = Vec::new();
    while !r.b.is_empty() {
        entries.push(r.entry()?);
    }
    Ok(entries)
}

struct Reader<'a> {
    b: &'a [u8],
}

fn short() -> sqlx::Error {
    sqlx::Error::Decode("cache journal entry cut short".into())
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], sqlx::Error> {
        let (head, rest) = self.b.split_first_chunk::<N>().ok_or_else(short)?;
        self.b = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, sqlx::Error> {
        Ok(self.take::<1>()?[0])
    }

    fn i64(&mut self) -> Result<i64, sqlx::Error> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    fn str(&mut self) -> Result<String, sqlx::Error> {
        let len = u32::from_le_bytes(self.take()?) as usize;
        if self.b.len() < len {
            return Err(short());
        }
        let (s, rest) = self.b.split_at(len);
        self.b = rest;
        String::from_utf8(s.to_vec()).map_err(|e| sqlx::Error::Decode(e.into()))
    }

    fn opt(&mut self) -> Result<Option<String>, sqlx::Error> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.str()?),
        })
    }

    fn time(&mut self) -> Result<DateTime<Utc>, sqlx::Error> {
        let secs = self.i64()?;
        let nanos = u32::from_le_bytes(self.take()?);
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| bad("timestamp", &secs.to_string()))
    }

    fn entry(&mut self) -> Result<Entry, sqlx::Error> {
        let tag = self.u8()?;
        match tag {
            DELETE => return Ok(Entry::Delete { id: self.str()? }),
            FORGET => return Ok(Entry::Forget { id: self.str()? }),
            PUT | PUT_NEW => {}
            other => return Err(bad("journal entry", &other.to_string())),
        }
        let id = self.str()?;
        let kind = self.str()?;
        let property_id = self.str()?;
        let amount_minor = self.i64()?;
        let currency = self.str()?;
        let category = self.str()?;
        let memo = self.str()?;
        let days = i32::from_le_bytes(self.take()?);
        let status = self.str()?;
        let row = Row {
            id,
            kind: TransactionKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
            property_id,
            amount_minor,
            currency: currency.parse().map_err(|_| bad("currency", &currency))?,
            category,
            memo,
            occurred_on: NaiveDate::from_epoch_days(days)
                .ok_or_else(|| bad("occurred_on", &days.to_string()))?,
            status: TransactionStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
            version: self.i64()?,
            client_mutation_id: self.opt()?,
            created_by: self.str()?,
            created_at: self.time()?,
            updated_at: self.time()?,
            pending_sync: self.u8()? != 0,
            sync_error: self.opt()?,
            rejection_reason: self.opt()?,
        };
        Ok(Entry::Put {
            row,
            new: tag == PUT_NEW,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_back_exactly_as_written() {
        let mut row = Row::confirmed(crate::cache::tests::txn("t1", 3, Some("m1")));
        row.memo = "a memo, with ünïcode".into();
        row.created_at = DateTime::from_timestamp(1_764_000_000, 123_456_789).unwrap();
        row.sync_error = Some("refused".into());
        row.pending_sync = true;
        let mut e = Encoder::default();
        e.put(&row, true);
        e.delete("t2");
        e.forget("t4");
        e.put(
            &Row::confirmed(crate::cache::tests::txn("t3", 1, None)),
            false,
        );
        assert_eq!(e.count, 4);
        let entries = decode(&e.finish()).unwrap();
        assert_eq!(
            entries,
            vec![
                Entry::Put { row, new: true },
                Entry::Delete { id: "t2".into() },
                Entry::Forget { id: "t4".into() },
                Entry::Put {
                    row: Row::confirmed(crate::cache::tests::txn("t3", 1, None)),
                    new: false
                },
            ]
        );
        assert!(decode(&[PUT, 9, 0]).is_err(), "a cut entry is an error");
        assert!(
            decode(&[7, 0, 0, 0, 0]).is_err(),
            "an unknown tag is an error"
        );
    }
}
