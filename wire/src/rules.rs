//! The rules a transaction's fields obey beyond their types: positive,
//! bounded amounts ([`crate::money`]), non-empty bounded text, and dates
//! inside the years the store's `YYYY-MM-DD` text can order. One copy for
//! both sides: the server refuses what breaks them (400), and the desktop
//! core checks the same rules, with the same words, before it queues a write
//! — so a write the server would refuse is never queued.

use chrono::{Datelike, NaiveDate};

use crate::{money, NewTransaction, TransactionPatch};

pub const MAX_CATEGORY_LEN: usize = 100;
pub const MAX_MEMO_LEN: usize = 2_000;
pub const MAX_ID_LEN: usize = 128;
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;
pub const MAX_REASON_LEN: usize = 500;

/// The error code of a write into a locked period (409).
pub const PERIOD_LOCKED: &str = "period_locked";

/// Whether a change touching `dates` (a row's old and new `occurred_on`) is
/// refused by the org's `lock_date`: any of them on or before it.
pub fn locked(lock_date: Option<NaiveDate>, dates: &[NaiveDate]) -> bool {
    lock_date.is_some_and(|lock| dates.iter().any(|d| *d <= lock))
}

/// The words of a [`PERIOD_LOCKED`] refusal, the same on both sides.
pub fn period_locked_message(lock_date: NaiveDate) -> String {
    format!(
        "the books are locked up to {lock_date}: rows dated on or before it cannot be changed; \
         an owner can move the lock date"
    )
}

/// A rejection's reason: optional, at most [`MAX_REASON_LEN`] characters.
pub fn reason(v: &str) -> Result<(), FieldError> {
    if v.trim().is_empty() || v.chars().count() > MAX_REASON_LEN {
        return Err(FieldError::new(
            "reason",
            format!("reason must be 1 to {MAX_REASON_LEN} characters"),
        ));
    }
    Ok(())
}

/// Which field broke which rule, in words for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The field's name in the request body (`category`, `occurred_on`, …).
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

pub fn amount(v: i64) -> Result<(), FieldError> {
    money::validate_amount(v)
        .map(|_| ())
        .map_err(|e| FieldError::new("amount_minor", e.to_string()))
}

pub fn category(v: &str) -> Result<(), FieldError> {
    if v.trim().is_empty() || v.chars().count() > MAX_CATEGORY_LEN {
        return Err(FieldError::new(
            "category",
            format!("category must be 1 to {MAX_CATEGORY_LEN} characters"),
        ));
    }
    Ok(())
}

pub fn memo(v: &str) -> Result<(), FieldError> {
    if v.chars().count() > MAX_MEMO_LEN {
        return Err(FieldError::new(
            "memo",
            format!("memo must be at most {MAX_MEMO_LEN} characters"),
        ));
    }
    Ok(())
}

/// An id the client chooses or passes back: 1 to [`MAX_ID_LEN`]
/// characters (what the OpenAPI document's `maxLength` counts).
pub fn id(field: &'static str, v: &str) -> Result<(), FieldError> {
    if v.is_empty() || v.chars().count() > MAX_ID_LEN {
        return Err(FieldError::new(
            field,
            format!("{field} must be 1 to {MAX_ID_LEN} characters"),
        ));
    }
    Ok(())
}

pub fn date(field: &'static str, v: NaiveDate) -> Result<(), FieldError> {
    if !YEARS.contains(&v.year()) {
        return Err(FieldError::new(
            field,
            format!(
                "{field} must be between {}-01-01 and {}-12-31",
                YEARS.start(),
                YEARS.end()
            ),
        ));
    }
    Ok(())
}

/// Check a create body.
pub fn validate_new(t: &NewTransaction) -> Result<(), FieldError> {
    amount(t.amount_minor)?;
    category(&t.category)?;
    memo(&t.memo)?;
    id("property_id", &t.property_id)?;
    date("occurred_on", t.occurred_on)?;
    if let Some(cmid) = &t.client_mutation_id {
        id("client_mutation_id", cmid)?;
    }
    Ok(())
}

/// Check a patch: every field it sets, and that it sets at least one.
pub fn validate_patch(p: &TransactionPatch) -> Result<(), FieldError> {
    if p.version < 1 {
        return Err(FieldError::new("version", "version must be at least 1"));
    }
    let TransactionPatch {
        version: _,
        kind,
        property_id,
        amount_minor,
        currency,
        category: cat,
        memo: m,
        occurred_on,
        client_mutation_id,
    } = p;
    if kind.is_none()
        && property_id.is_none()
        && amount_minor.is_none()
        && currency.is_none()
        && cat.is_none()
        && m.is_none()
        && occurred_on.is_none()
    {
        return Err(FieldError::new("version", "the patch changes nothing"));
    }
    if let Some(v) = amount_minor {
        amount(*v)?;
    }
    if let Some(v) = cat {
        category(v)?;
    }
    if let Some(v) = m {
        memo(v)?;
    }
    if let Some(v) = property_id {
        id("property_id", v)?;
    }
    if let Some(v) = occurred_on {
        date("occurred_on", *v)?;
    }
    if let Some(v) = client_mutation_id {
        id("client_mutation_id", v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Currency, TransactionKind};

    use super::*;

    fn new() -> NewTransaction {
        NewTransaction {
            kind: TransactionKind::Revenue,
            property_id: "p1".into(),
            amount_minor: 100,
            currency: Currency::USD,
            category: "rooms".into(),
            memo: String::new(),
            occurred_on: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            client_mutation_id: Some("m1".into()),
        }
    }

    #[test]
    fn a_plain_create_is_valid() {
        assert_eq!(validate_new(&new()), Ok(()));
    }

    #[test]
    fn amounts_must_be_positive_and_bounded() {
        for bad in [0, -1, i64::MIN, money::MAX_AMOUNT_MINOR + 1, i64::MAX] {
            assert!(
                validate_new(&NewTransaction {
                    amount_minor: bad,
                    ..new()
                })
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn text_fields_are_bounded() {
        assert!(validate_new(&NewTransaction {
            category: "  ".into(),
            ..new()
        })
        .is_err());
        assert!(validate_new(&NewTransaction {
            category: "x".repeat(101),
            ..new()
        })
        .is_err());
        assert!(validate_new(&NewTransaction {
            memo: "x".repeat(2001),
            ..new()
        })
        .is_err());
        assert!(validate_new(&NewTransaction {
            client_mutation_id: Some(String::new()),
            ..new()
        })
        .is_err());
        assert!(validate_new(&NewTransaction {
            property_id: String::new(),
            ..new()
        })
        .is_err());
    }

    #[test]
    fn dates_outside_the_supported_years_are_refused() {
        let far = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
        assert!(validate_new(&NewTransaction {
            occurred_on: far,
            ..new()
        })
        .is_err());
        let old = NaiveDate::from_ymd_opt(1899, 12, 31).unwrap();
        assert!(validate_new(&NewTransaction {
            occurred_on: old,
            ..new()
        })
        .is_err());
    }

    #[test]
    fn empty_or_unversioned_patches_are_refused() {
        let empty = TransactionPatch {
            version: 1,
            ..Default::default()
        };
        assert!(validate_patch(&empty).is_err());
        let memo = TransactionPatch {
            version: 0,
            memo: Some("x".into()),
            ..Default::default()
        };
        assert!(validate_patch(&memo).is_err());
        let ok = TransactionPatch {
            version: 3,
            memo: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(validate_patch(&ok), Ok(()));
        let bad = TransactionPatch {
            version: 3,
            amount_minor: Some(0),
            ..Default::default()
        };
        assert!(validate_patch(&bad).is_err());
    }
}
