//! Operator bearer tokens. Tokens are read once at start-up from their `env:` / `file:`
//! references and kept only as SHA-256 digests; a presented token is hashed and compared with
//! every digest in constant time, so neither its length nor a matching prefix shows in timing.

use atoll_core::SecretRef;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The configured operator tokens (digests only).
#[derive(Clone, Default)]
pub struct OperatorTokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for OperatorTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperatorTokens({} configured)", self.digests.len())
    }
}

/// What a request's `Authorization` header proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No header: reads only.
    Anonymous,
    /// A valid operator token.
    Operator,
    /// A header with a token that matches none.
    Rejected,
}

impl OperatorTokens {
    /// Reads every token. An unset variable or unreadable file is an error naming the
    /// reference (never the value).
    pub fn load(refs: &[SecretRef]) -> Result<OperatorTokens, String> {
        let mut digests = Vec::with_capacity(refs.len());
        for r in refs {
            let secret = atoll_adapters::secrets::load(r)
                .map_err(|e| format!("api.operator_tokens: {e}"))?;
            digests.push(Sha256::digest(secret.expose().as_bytes()).into());
        }
        Ok(OperatorTokens { digests })
    }

    /// Tokens given as values (tests, `atoll demo` which generates its own).
    pub fn from_values<S: AsRef<str>>(values: &[S]) -> OperatorTokens {
        OperatorTokens {
            digests: values
                .iter()
                .map(|v| Sha256::digest(v.as_ref().as_bytes()).into())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Classifies an `Authorization` header value.
    pub fn check(&self, header: Option<&str>) -> Access {
        let Some(header) = header else {
            return Access::Anonymous;
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .unwrap_or("")
            .trim();
        if token.is_empty() {
            return Access::Rejected;
        }
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // No early exit: every digest is compared.
        let mut matched = subtle::Choice::from(0u8);
        for d in &self.digests {
            matched |= d.ct_eq(&presented);
        }
        if bool::from(matched) {
            Access::Operator
        } else {
            Access::Rejected
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_token_is_an_operator() {
        let tokens = OperatorTokens::from_values(&["s3cret-token"]);
        assert_eq!(tokens.check(None), Access::Anonymous);
        assert_eq!(tokens.check(Some("Bearer s3cret-token")), Access::Operator);
        assert_eq!(tokens.check(Some("Bearer s3cret-toke")), Access::Rejected);
        assert_eq!(tokens.check(Some("s3cret-token")), Access::Rejected);
        assert_eq!(tokens.check(Some("Bearer ")), Access::Rejected);
        assert_eq!(
            OperatorTokens::default().check(Some("Bearer x")),
            Access::Rejected
        );
        assert!(!format!("{tokens:?}").contains("s3cret"));
    }
}
