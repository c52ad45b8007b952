//! Money on the wire is `amount_minor: i64` (cents) plus an ISO 4217 code,
//! never a float. [`Currency`] is parsed once at the edge and is always one of
//! the active ISO 4217 codes; amounts are validated by [`validate_amount`].

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The largest amount a single transaction may carry, in minor units.
///
/// Sums of up to 2^20 maximal transactions still fit in an `i64`, so a report
/// over any realistic number of rows can never overflow.
pub const MAX_AMOUNT_MINOR: i64 = 1 << 42; // ≈ 44 billion in major units

/// Active ISO 4217 currency codes.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL",
];

/// An ISO 4217 currency code such as `USD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "USD"))]
pub struct Currency([u8; 3]);

/// Why a currency code or amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}: expected an ISO 4217 code such as \"USD\"")]
    UnknownCurrency(String),
    #[error("amount_minor must be positive")]
    NotPositive,
    #[error("amount_minor exceeds the maximum of {MAX_AMOUNT_MINOR}")]
    TooLarge,
}

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    /// Every code [`Currency`] accepts, sorted (the OpenAPI document's enum).
    pub fn codes() -> &'static [&'static str] {
        ISO_4217
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII entries of ISO_4217.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match ISO_4217.binary_search(&s) {
            Ok(i) => {
                let b = ISO_4217[i].as_bytes();
                Ok(Currency([b[0], b[1], b[2]]))
            }
            Err(_) => Err(MoneyError::UnknownCurrency(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transaction amount is strictly positive (the kind says which way money
/// flows) and at most [`MAX_AMOUNT_MINOR`].
pub fn validate_amount(amount_minor: i64) -> Result<i64, MoneyError> {
    if amount_minor <= 0 {
        Err(MoneyError::NotPositive)
    } else if amount_minor > MAX_AMOUNT_MINOR {
        Err(MoneyError::TooLarge)
    } else {
        Ok(amount_minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_table_is_sorted_so_binary_search_works() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn known_codes_parse_and_unknown_ones_do_not() {
        assert_eq!("EUR".parse::<Currency>().unwrap().as_str(), "EUR");
        assert_eq!(
            "usd".parse::<Currency>(),
            Err(MoneyError::UnknownCurrency("usd".into()))
        );
        assert!("XYZ".parse::<Currency>().is_err());
        assert!("".parse::<Currency>().is_err());
    }

    #[test]
    fn currency_round_trips_through_json() {
        let c: Currency = serde_json::from_str("\"JPY\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"JPY\"");
        assert!(serde_json::from_str::<Currency>("\"BTC\"").is_err());
    }

    #[test]
    fn amounts_must_be_positive_and_bounded() {
        assert_eq!(validate_amount(1), Ok(1));
        assert_eq!(validate_amount(MAX_AMOUNT_MINOR), Ok(MAX_AMOUNT_MINOR));
        assert_eq!(validate_amount(0), Err(MoneyError::NotPositive));
        assert_eq!(validate_amount(-5), Err(MoneyError::NotPositive));
        assert_eq!(
            validate_amount(MAX_AMOUNT_MINOR + 1),
            Err(MoneyError::TooLarge)
        );
    }
}
