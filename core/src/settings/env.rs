//! What comes from outside the config file: `ATOLL_*` environment overrides of its keys, and
//! secret references (`file:` key files, resolved against the config's folder, or `env:`
//! variables), checked without ever echoing a secret.

use std::path::{Path, PathBuf};

use super::{ConfigErrors, ConfigProblem, Problems};
use crate::SecretRef;

/// Prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "ATOLL_";

/// Applies `ATOLL_<SECTION>__<KEY>…` overrides: segments separated by `__`, lower-cased; an
/// array of tables (`chains`, `tokens`) is indexed by the entry's `name` or `symbol`, e.g.
/// `ATOLL_CHAINS__ETHEREUM__RPC='["http://10.0.0.1:8545"]'` or `ATOLL_DATABASE__URL=postgres://…`.
/// Values parse as TOML values when they can (numbers, booleans, arrays), else as strings.
/// Variables without `__` (like `ATOLL_HOME`, `ATOLL_OPERATOR_TOKEN`) are not overrides.
pub(super) fn apply_env_overrides(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigErrors> {
    let mut problems = Vec::new();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k.contains("__"))
        .collect();
    vars.sort();
    for (key, value) in vars {
        let segments: Vec<String> = key[ENV_PREFIX.len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if let Err(message) = set_path(table, &segments, parse_env_value(&value)) {
            problems.push(ConfigProblem {
                path: key.clone(),
                message,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(problems))
    }
}

fn parse_env_value(value: &str) -> toml::Value {
    let doc = format!("v = {value}");
    doc.parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()))
}

fn set_path(
    table: &mut toml::Table,
    segments: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        return Err("empty override path".into());
    };
    if first.is_empty() {
        return Err("empty segment in override path".into());
    }
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let entry = table
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(t) => set_path(t, rest, value),
        toml::Value::Array(items) => {
            let (selector, rest) = rest.split_first().ok_or("missing entry name")?;
            let found = items.iter_mut().find_map(|item| match item {
                toml::Value::Table(t)
                    if ["name", "symbol"].iter().any(|k| {
                        t.get(*k)
                            .and_then(|v| v.as_str())
                            .map(|v| v.eq_ignore_ascii_case(selector))
                            == Some(true)
                    }) =>
                {
                    Some(t)
                }
                _ => None,
            });
            match found {
                Some(t) if !rest.is_empty() => set_path(t, rest, value),
                Some(_) => Err("cannot replace a whole entry; name one of its keys".into()),
                None => Err(format!("no entry named {selector:?} in {first}")),
            }
        }
        _ => Err(format!("{first} is not a table")),
    }
}

/// The secret reference at `path`, if set; a relative `file:` path is anchored at `base_dir`.
pub(super) fn secret(
    p: &mut Problems,
    path: &str,
    raw: &Option<String>,
    base_dir: &Path,
) -> Option<SecretRef> {
    let s = raw.as_ref()?;
    match s.parse::<SecretRef>() {
        Ok(SecretRef::File(f)) if f.is_relative() => Some(SecretRef::File(base_dir.join(f))),
        Ok(r) => Some(r),
        Err(e) => {
            p.push(path, e.to_string());
            None
        }
    }
}

/// The folder relative `file:` paths of a config file at `config_path` resolve against.
pub fn base_dir_of(config_path: &Path) -> PathBuf {
    match config_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
