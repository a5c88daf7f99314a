//! Secrets the server hands out — session ids, API tokens, invite tokens — and the one way
//! they are stored: a SHA-256 hash, so the database never holds a usable credential.
//!
//! Every secret carries 256 random bits, so a plain (unsalted) hash is enough: there is
//! nothing to guess, and looking one up by its hash is one indexed read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// API tokens start with this, so a leaked one is easy to recognise (and scan for).
pub const API_TOKEN_PREFIX: &str = "pct_";
/// Random bytes in every secret.
const SECRET_BYTES: usize = 32;

fn random_b64(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// A new session id (the cookie's value).
pub fn session_id() -> anyhow::Result<String> {
    random_b64(SECRET_BYTES)
}

/// A new API token, `pct_` + 43 characters.
pub fn api_token() -> anyhow::Result<String> {
    Ok(format!("{API_TOKEN_PREFIX}{}", random_b64(SECRET_BYTES)?))
}

/// A new invite token (the `invite` query parameter of a link).
pub fn invite_token() -> anyhow::Result<String> {
    random_b64(SECRET_BYTES)
}

/// A public id for a token or an invite (12 characters, not a secret).
pub fn public_id() -> anyhow::Result<String> {
    random_b64(9)
}

/// What the store keeps of a secret: its SHA-256 in hex.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Whether a string could be a secret of ours at all (checked before any lookup, so junk
/// never reaches the store).
pub fn plausible(secret: &str) -> bool {
    (16..=128).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_stored_as_hashes() {
        let a = session_id().expect("random");
        let b = session_id().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes of base64url");
        let token = api_token().expect("random");
        assert!(token.starts_with("pct_") && token.len() == 47);
        assert!(plausible(&a) && plausible(&token) && !plausible("x y") && !plausible("short"));
        let h = hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a));
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
