//! Reads secrets named by `env:NAME` / `file:PATH` references and turns them into signers.
//! A secret's value never appears in an error, a log line or a `Debug` print.

use std::fmt;

use alloy::signers::local::PrivateKeySigner;
use atoll_core::SecretRef;
use solana_sdk::signature::Keypair;

use crate::AdapterError;

/// A secret's value. `Debug` and `Display` print nothing of it.
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

pub fn load(reference: &SecretRef) -> Result<Secret, AdapterError> {
    match reference {
        SecretRef::Env(name) => match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret(v.trim().to_string())),
            _ => Err(AdapterError::SecretEnvMissing {
                reference: reference.to_string(),
                name: name.clone(),
            }),
        },
        SecretRef::File(path) => std::fs::read_to_string(path)
            .map(|v| Secret(v.trim().to_string()))
            .map_err(|e| AdapterError::SecretFileUnreadable {
                reference: reference.to_string(),
                path: path.display().to_string(),
                reason: e.kind().to_string(),
            }),
    }
}

/// An EVM signing key: 32 bytes as hex, with or without `0x`.
pub fn evm_signer(reference: &SecretRef) -> Result<PrivateKeySigner, AdapterError> {
    let secret = load(reference)?;
    secret
        .expose()
        .parse::<PrivateKeySigner>()
        .map_err(|_| AdapterError::SecretMalformed {
            reference: reference.to_string(),
            expected: "EVM private key (64 hex digits)",
        })
}

/// A Solana keypair in the Solana CLI's format: a JSON array of 64 bytes.
pub fn solana_keypair(reference: &SecretRef) -> Result<Keypair, AdapterError> {
    let secret = load(reference)?;
    let malformed = || AdapterError::SecretMalformed {
        reference: reference.to_string(),
        expected: "Solana keypair (JSON array of 64 bytes)",
    };
    let bytes: Vec<u8> = serde_json::from_str(secret.expose()).map_err(|_| malformed())?;
    Keypair::try_from(bytes.as_slice()).map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    #[test]
    fn evm_key_from_file_and_errors_without_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, format!("{KEY}\n")).unwrap();
        let signer = evm_signer(&SecretRef::File(path.clone())).unwrap();
        assert_eq!(
            signer.address().to_string(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );

        std::fs::write(&path, "0x1234-not-a-key-abcdef").unwrap();
        let e = evm_signer(&SecretRef::File(path)).unwrap_err().to_string();
        assert!(
            e.contains("not a valid EVM private key") && !e.contains("not-a-key"),
            "{e}"
        );
        let e = evm_signer(&SecretRef::Env("ATOLL_TEST_SURELY_UNSET_VAR".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ATOLL_TEST_SURELY_UNSET_VAR is not set"), "{e}");
        assert_eq!(format!("{:?}", Secret(KEY.into())), "Secret(<redacted>)");
    }

    #[test]
    fn solana_keypair_from_cli_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.json");
        let kp = Keypair::new_from_array([7u8; 32]);
        std::fs::write(
            &path,
            serde_json::to_string(&kp.to_bytes().to_vec()).unwrap(),
        )
        .unwrap();
        let loaded = solana_keypair(&SecretRef::File(path.clone())).unwrap();
        assert_eq!(loaded.to_bytes(), kp.to_bytes());
        std::fs::write(&path, "[1,2,3]").unwrap();
        assert!(solana_keypair(&SecretRef::File(path)).is_err());
    }
}
