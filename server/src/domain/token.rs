//! Opaque bearer tokens. The client holds 32 random bytes (base64url); the
//! server stores only their sha256, so a leaked database does not leak
//! sessions.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A token as the client sends it in `Authorization: Bearer …`.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(…)")
    }
}

impl BearerToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        BearerToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value of an `Authorization` header, if it is a well-formed bearer token.
    pub fn from_header(value: &str) -> Option<Self> {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?
            .trim();
        let plausible = (16..=128).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plausible.then(|| BearerToken(token.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database stores and looks up: hex sha256 of the token.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_unique_and_parse_back() {
        let a = BearerToken::generate();
        let b = BearerToken::generate();
        assert_ne!(a, b);
        let header = format!("Bearer {}", a.as_str());
        assert_eq!(BearerToken::from_header(&header), Some(a));
    }

    #[test]
    fn hash_is_hex_sha256_and_stable() {
        let t = BearerToken("abc".into());
        assert_eq!(
            t.hash(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abcdefghijklmnopqrstuvwxyz",
            "Bearer short",
            "Bearer has spaces inside it!!",
        ] {
            assert_eq!(BearerToken::from_header(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let t = BearerToken::generate();
        assert!(!format!("{t:?}").contains(t.as_str()));
    }
}
