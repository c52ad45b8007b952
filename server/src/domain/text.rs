//! "Not blank", stated once for the server and once, as a regular
//! expression, for the OpenAPI document — and a test that they agree on
//! every Unicode scalar value. Blank means every character is Unicode
//! `White_Space` (what Rust's `char::is_whitespace` and `str::trim` use).

/// Unicode `White_Space`, as a regex character-class body.
const WHITE_SPACE_CLASS: &str =
    "\\t\\n\\x0B\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/// An unanchored pattern that a string matches when it is not blank.
pub fn not_blank_pattern() -> String {
    format!("[^{WHITE_SPACE_CLASS}]")
}

/// Empty, or only whitespace.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The code points the class names, parsed back from its text.
    fn class_members() -> Vec<char> {
        let mut members = Vec::new();
        let mut parts = WHITE_SPACE_CLASS;
        let mut previous = None;
        let mut range = false;
        while !parts.is_empty() {
            let (c, rest) = if let Some(rest) = parts.strip_prefix("\\u") {
                (u32::from_str_radix(&rest[..4], 16).unwrap(), &rest[4..])
            } else if let Some(rest) = parts.strip_prefix("\\x") {
                (u32::from_str_radix(&rest[..2], 16).unwrap(), &rest[2..])
            } else if let Some(rest) = parts.strip_prefix('\\') {
                let c = match &rest[..1] {
                    "t" => 9,
                    "n" => 10,
                    "f" => 12,
                    "r" => 13,
                    other => panic!("escape {other}"),
                };
                (c, &rest[1..])
            } else if let Some(rest) = parts.strip_prefix('-') {
                range = true;
                parts = rest;
                continue;
            } else {
                let c = parts.chars().next().unwrap();
                (c as u32, &parts[c.len_utf8()..])
            };
            parts = rest;
            if range {
                let from = previous.unwrap() + 1;
                members.extend((from..=c).filter_map(char::from_u32));
                range = false;
            } else {
                members.push(char::from_u32(c).unwrap());
            }
            previous = Some(c);
        }
        members
    }

    #[test]
    fn the_pattern_names_exactly_the_whitespace_rust_trims() {
        let members = class_members();
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                c.is_whitespace(),
                members.contains(&c),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn blank_means_only_whitespace() {
        assert!(is_blank(""));
        assert!(is_blank(" \t\u{3000}"));
        assert!(!is_blank(" a "));
        assert!(!is_blank("\u{1c}"));
    }
}
