//! Secrets: random tokens, password hashing (argon2id), SHA-256 of high-entropy secrets, constant-time comparison.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `n_bytes` random bytes from the OS, hex-encoded.
pub fn random_hex(n_bytes: usize) -> String {
    let mut bytes = vec![0u8; n_bytes];
    fill_random(&mut bytes);
    hex::encode(bytes)
}

/// Fills `bytes` from the OS's random source; without one the server cannot issue secrets, so it stops.
pub fn fill_random(bytes: &mut [u8]) {
    getrandom::fill(bytes).expect("the operating system's random number generator is unavailable");
}

/// A random version 4 GUID, for device ids and new directory registrations.
pub fn random_guid() -> shared::device::DirectoryDeviceId {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes);
    shared::device::DirectoryDeviceId::from_random_bytes(bytes)
}

/// SHA-256 of a high-entropy secret (session token, device secret), hex. Passwords use [`hash_password`].
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The last four characters of a token, to tell tokens apart without showing them.
pub fn last_four(token: &str) -> String {
    let n = token.chars().count();
    token.chars().skip(n.saturating_sub(4)).collect()
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Argon2id PHC string of `password`. CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// [`verify_password`] in the caller's Argon2 memory (resized to what the hash's parameters need), so that
/// verifications reuse a few buffers instead of allocating 19 MiB each: the allocator keeps freed buffers of that
/// size in per-thread arenas, and the blocking pool's many threads would keep many of them.
pub fn verify_password_in(password: &str, phc: &str, memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm) else { return false };
    let Ok(version) = hash.version.map(argon2::Version::try_from).transpose() else { return false };
    let Ok(params) = argon2::Params::try_from(&hash) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    memory.resize(params.block_count(), argon2::Block::default());
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
    argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory.as_mut_slice()).is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// Password verification, a few at a time: a semaphore bounds how many run at once, and each runs in one of as
/// many reused Argon2 buffers, so memory stays at that many × 19 MiB whatever the load.
#[derive(Debug)]
pub struct PasswordChecks {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    memory: std::sync::Arc<std::sync::Mutex<Vec<Vec<argon2::Block>>>>,
}

impl PasswordChecks {
    /// At most `n` verifications at once.
    pub fn new(n: usize) -> Self {
        Self { slots: std::sync::Arc::new(tokio::sync::Semaphore::new(n)), memory: std::sync::Arc::default() }
    }

    /// Whether `password` matches `phc`, once a slot is free within `wait`; `None` when none was.
    pub async fn verify(&self, password: String, phc: String, wait: std::time::Duration) -> Option<bool> {
        let permit = tokio::time::timeout(wait, std::sync::Arc::clone(&self.slots).acquire_owned()).await.ok()?.ok()?;
        let pool = std::sync::Arc::clone(&self.memory);
        let mut memory = pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop().unwrap_or_default();
        let checked = tokio::task::spawn_blocking(move || {
            let matches = verify_password_in(&password, &phc, &mut memory);
            pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(memory);
            drop(permit);
            matches
        })
        .await;
        // A verification that panicked proves nothing.
        Some(checked.unwrap_or(false))
    }
}

/// A password for a first admin or a demo: 20 characters from an alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    fill_random(&mut bytes);
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse").expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a phc string"));
    }

    #[test]
    fn verifying_in_reused_memory_agrees_with_the_library() {
        let hash = hash_password("correct horse").expect("hashes");
        let mut memory = Vec::new();
        assert!(verify_password_in("correct horse", &hash, &mut memory));
        assert_eq!(memory.len(), 19 * 1024, "19 MiB of 1 KiB blocks");
        assert!(!verify_password_in("wrong horse", &hash, &mut memory));
        assert!(verify_password_in("correct horse", &hash, &mut memory), "the same memory again");
        assert!(!verify_password_in("correct horse", "not a phc string", &mut memory));
    }

    #[test]
    fn generated_secrets_differ_and_have_the_asked_length() {
        assert_eq!(random_hex(32).len(), 64);
        assert_ne!(random_hex(32), random_hex(32));
        assert_eq!(generate_password().len(), 20);
    }

    #[test]
    fn constant_time_eq_compares_contents() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
