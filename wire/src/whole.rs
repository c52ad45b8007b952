//! Whole numbers in request bodies. JSON Schema's `integer` (what the
//! OpenAPI document says) includes `100.0`; serde's `i64` does not. These
//! take either form, so a client that writes integers as floats with no
//! fraction is understood, and anything else (a fraction, out of range)
//! is still refused.

use serde::{de, Deserialize, Deserializer};

/// An `i64` written as `100` or `100.0`.
pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(i64),
        Float(f64),
    }
    match Number::deserialize(deserializer)? {
        Number::Int(n) => Ok(n),
        Number::Float(f) if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) => {
            // In range and whole: the cast is exact.
            Ok(f as i64)
        }
        Number::Float(f) => Err(de::Error::custom(format!(
            "invalid value: {f}, expected a whole number (i64)"
        ))),
    }
}

/// A `u64` written as `100` or `100.0`.
pub fn u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(u64),
        Float(f64),
    }
    match Number::deserialize(deserializer)? {
        Number::Int(n) => Ok(n),
        Number::Float(f) if f.fract() == 0.0 && f >= 0.0 && f < 2f64.powi(64) => {
            // In range and whole: the cast is exact.
            Ok(f as u64)
        }
        Number::Float(f) => Err(de::Error::custom(format!(
            "invalid value: {f}, expected a whole number from 0 (u64)"
        ))),
    }
}

/// [`i64()`] for an optional field (use with `#[serde(default)]`).
pub fn option_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "i64")] i64);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(n)| n))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Body {
        #[serde(deserialize_with = "super::i64")]
        n: i64,
        #[serde(default, deserialize_with = "super::option_i64")]
        m: Option<i64>,
    }

    fn parse(json: &str) -> Result<Body, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_not() {
        assert_eq!(parse(r#"{"n": 5}"#).unwrap(), Body { n: 5, m: None });
        assert_eq!(
            parse(r#"{"n": 5.0, "m": 7.0}"#).unwrap(),
            Body { n: 5, m: Some(7) }
        );
        assert_eq!(parse(r#"{"n": 1, "m": null}"#).unwrap().m, None);
        for bad in [
            r#"{"n": 5.5}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": "5"}"#,
            r#"{"n": 1, "m": 0.5}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse(r#"{"n": -9223372036854775808}"#).unwrap().n, i64::MIN);
    }
}
