//! Argon2id password hashes in PHC string form. Hashing is deliberately slow;
//! callers on the async runtime run it on a blocking thread.

use argon2::{
    password_hash::{Output, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use rand::RngCore;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// Hash `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| PasswordError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError(e.to_string()))
}

/// A hash of no account's password, with the same parameters as [`hash`]:
/// login verifies against it when the email is unknown, so an unknown email
/// costs the same time as a known one and timing reveals no accounts.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bGVkZ2VybGluZS1kdW1teQ$IDIzzjpijHpcpmn4fKlJIWf1ghDZ8UMeJquYIhUi1QM";

/// Whether `password` matches the stored PHC `hash`. A malformed stored hash
/// never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`verify`] in argon2 memory the caller keeps (grown to what `hash`
/// needs, then reused): a thread checking passwords one after another holds
/// one memory block for good instead of asking the allocator for 19 MiB each
/// time — glibc kept the freed blocks, so RSS grew with the checks done.
pub fn verify_in(password: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..blocks])
        .is_ok()
        // `Output`'s equality is constant-time.
        && Output::new(out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_password_verifies_and_wrong_one_does_not() {
        let h = hash("demo").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("demo", &h));
        assert!(!verify("Demo", &h));
        assert!(!verify("demo", "not a hash"));
    }

    #[test]
    fn verifying_in_kept_memory_agrees_with_verify() {
        let h = hash("demo").unwrap();
        let mut memory = Vec::new();
        for (password, phc) in [
            ("demo", &*h),
            ("Demo", &*h),
            ("demo", DUMMY_HASH),
            ("x", "not a hash"),
        ] {
            assert_eq!(
                verify_in(password, phc, &mut memory),
                verify(password, phc),
                "{password} {phc}"
            );
        }
        assert!(verify_in("demo", &h, &mut memory));
        assert_eq!(memory.len(), 19_456);
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let params = |phc: &str| {
            let parsed = PasswordHash::new(phc).unwrap();
            (parsed.algorithm.to_string(), parsed.params.to_string())
        };
        assert_eq!(params(DUMMY_HASH), params(&hash("demo").unwrap()));
        assert!(!verify("demo", DUMMY_HASH));
    }

    #[test]
    fn same_password_gets_different_salts() {
        assert_ne!(hash("demo").unwrap(), hash("demo").unwrap());
    }
}
