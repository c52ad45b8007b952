//! What a window shows: the main finance page, one property, the
//! profit-loss report or the approvals queue. Parsed once from the strings
//! of the IPC contract (`property:<id>`, `report:profit-loss`, `approvals`)
//! and of the command line (`ledgerline --open <target>`); turned into the
//! window's URL (`index.html?view=…`), which is how the UI knows its view.

use std::{fmt, str::FromStr};

use ledgerline_client::CommandError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum WindowTarget {
    /// The main finance page (no `view` in the URL).
    Main,
    Property(String),
    ProfitLoss,
    Approvals,
    /// One transaction's history.
    History(String),
}

impl WindowTarget {
    /// The page the window loads, relative to the app's assets.
    pub fn url(&self) -> String {
        match self {
            WindowTarget::Main => "index.html".to_owned(),
            WindowTarget::Property(id) => format!("index.html?view=property&id={id}"),
            WindowTarget::ProfitLoss => "index.html?view=report".to_owned(),
            WindowTarget::Approvals => "index.html?view=approvals".to_owned(),
            WindowTarget::History(id) => format!("index.html?view=history&id={id}"),
        }
    }

    pub fn title(&self) -> String {
        match self {
            WindowTarget::Main => "Ledgerline".to_owned(),
            WindowTarget::Property(id) => format!("Ledgerline — property {id}"),
            WindowTarget::ProfitLoss => "Ledgerline — profit and loss".to_owned(),
            WindowTarget::Approvals => "Ledgerline — approvals".to_owned(),
            WindowTarget::History(_) => "Ledgerline — history".to_owned(),
        }
    }

    /// Default inner size in logical pixels.
    pub fn default_size(&self) -> (f64, f64) {
        match self {
            WindowTarget::Main => (1280.0, 800.0),
            WindowTarget::Property(_) => (1100.0, 760.0),
            WindowTarget::ProfitLoss => (1000.0, 720.0),
            WindowTarget::Approvals => (900.0, 700.0),
            WindowTarget::History(_) => (720.0, 560.0),
        }
    }
}

impl fmt::Display for WindowTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowTarget::Main => f.write_str("main"),
            WindowTarget::Property(id) => write!(f, "property:{id}"),
            WindowTarget::ProfitLoss => f.write_str("report:profit-loss"),
            WindowTarget::Approvals => f.write_str("approvals"),
            WindowTarget::History(id) => write!(f, "history:{id}"),
        }
    }
}

impl FromStr for WindowTarget {
    type Err = CommandError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "main" => Ok(WindowTarget::Main),
            "report:profit-loss" => Ok(WindowTarget::ProfitLoss),
            "approvals" => Ok(WindowTarget::Approvals),
            other => {
                // Ids go into a URL query unescaped: keep them to the
                // characters the server's ids are made of.
                let plain = |id: &str| {
                    !id.is_empty()
                        && id.len() <= 64
                        && id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                };
                if let Some(id) = other.strip_prefix("property:").filter(|id| plain(id)) {
                    return Ok(WindowTarget::Property(id.to_owned()));
                }
                if let Some(id) = other.strip_prefix("history:").filter(|id| plain(id)) {
                    return Ok(WindowTarget::History(id.to_owned()));
                }
                Err(CommandError::invalid(
                    "target",
                    format!(
                        "unknown window {other:?}; expected property:<id>, report:profit-loss, approvals or history:<id>"
                    ),
                ))
            }
        }
    }
}

impl TryFrom<String> for WindowTarget {
    type Error = CommandError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<WindowTarget> for String {
    fn from(t: WindowTarget) -> String {
        t.to_string()
    }
}

/// The target of `--open <target>` or `--open=<target>` in `argv`, if any
/// (an unknown target is logged and ignored; other arguments — such as
/// those a WebDriver adds — are ignored too).
pub fn open_arg(argv: &[String]) -> Option<WindowTarget> {
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        let value = if arg == "--open" {
            args.next().map(String::as_str)
        } else {
            arg.strip_prefix("--open=")
        };
        if let Some(value) = value {
            match value.parse() {
                Ok(target) => return Some(target),
                Err(e) => tracing::warn!(value, error = %e, "ignoring --open"),
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn contract_targets_parse_and_print_back() {
        for s in ["property:p-1", "report:profit-loss", "approvals", "main"] {
            let t: WindowTarget = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
    }

    #[test]
    fn targets_map_to_the_view_query_of_the_contract() {
        assert_eq!(
            WindowTarget::Property("abc".into()).url(),
            "index.html?view=property&id=abc"
        );
        assert_eq!(WindowTarget::ProfitLoss.url(), "index.html?view=report");
        assert_eq!(WindowTarget::Approvals.url(), "index.html?view=approvals");
        assert_eq!(WindowTarget::Main.url(), "index.html");
    }

    #[test]
    fn unknown_or_unsafe_targets_are_invalid_with_the_field_named() {
        for s in [
            "",
            "property:",
            "property:a&b=c",
            "report:cash-flow",
            "Approvals",
        ] {
            let e = s.parse::<WindowTarget>().unwrap_err();
            assert_eq!(e.field.as_deref(), Some("target"), "{s:?}");
        }
    }

    #[test]
    fn open_flag_is_found_in_either_spelling_among_other_args() {
        assert_eq!(
            open_arg(&argv(&[
                "ledgerline",
                "--automation",
                "--open",
                "approvals"
            ])),
            Some(WindowTarget::Approvals)
        );
        assert_eq!(
            open_arg(&argv(&["ledgerline", "--open=property:p1"])),
            Some(WindowTarget::Property("p1".into()))
        );
        assert_eq!(open_arg(&argv(&["ledgerline"])), None);
        assert_eq!(open_arg(&argv(&["ledgerline", "--open", "nowhere"])), None);
        assert_eq!(open_arg(&argv(&["ledgerline", "--open"])), None);
    }

    #[test]
    fn targets_serialize_as_their_contract_strings() {
        let json = serde_json::to_string(&WindowTarget::Property("p9".into())).unwrap();
        assert_eq!(json, "\"property:p9\"");
        let back: WindowTarget = serde_json::from_str(&json).unwrap();
        assert_eq!(back, WindowTarget::Property("p9".into()));
        assert!(serde_json::from_str::<WindowTarget>("\"bogus\"").is_err());
    }
}
