//! References to secrets (keys, tokens). Settings never hold a secret's value, only where to find
//! it; the value is read at start-up by the crate that uses it and never printed.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    /// `env:NAME`: the value of environment variable NAME.
    Env(String),
    /// `file:PATH`: the trimmed contents of a file (relative paths: to the config file's folder).
    File(PathBuf),
}

impl FromStr for SecretRef {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(name) = s.strip_prefix("env:") {
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if valid {
                return Ok(SecretRef::Env(name.to_string()));
            }
        } else if let Some(path) = s.strip_prefix("file:")
            && !path.is_empty()
        {
            return Ok(SecretRef::File(PathBuf::from(path)));
        }
        // The input may be the secret itself pasted by mistake: never echo it.
        Err(CoreError::InvalidSecretRef(if s.len() > 12 {
            format!("{}…", &s[..s.floor_char_boundary(5)])
        } else {
            "<hidden>".into()
        }))
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// Shows where the secret lives, never its value (there is none here to show).
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({self})")
    }
}

impl Serialize for SecretRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_and_file() {
        assert_eq!(
            "env:A_B1".parse::<SecretRef>().unwrap(),
            SecretRef::Env("A_B1".into())
        );
        assert_eq!(
            "file:k.key".parse::<SecretRef>().unwrap(),
            SecretRef::File("k.key".into())
        );
    }

    #[test]
    fn a_pasted_key_is_not_echoed() {
        let key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let e = key.parse::<SecretRef>().unwrap_err().to_string();
        assert!(!e.contains("bacb478cbed5efcae784d7bf4f2ff80"), "{e}");
    }
}
