//! Opaque cursors: a kind tag and fields joined by `|`, base64url. The last field may hold `|`
//! (ids are never split).

use base64::Engine;

use crate::error::ApiError;

pub fn encode(kind: &str, fields: &[&str]) -> String {
    let mut text = kind.to_string();
    for f in fields {
        text.push('|');
        text.push_str(f);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The `n` fields of a cursor of `kind`; a cursor not ours is a `BAD_USER_INPUT` naming `list`.
pub fn decode(cursor: &str, kind: &str, n: usize, list: &str) -> Result<Vec<String>, ApiError> {
    let bad = || ApiError::BadInput(format!("after: {cursor:?} is not a cursor of this {list}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = text.splitn(n + 1, '|');
    if parts.next() != Some(kind) {
        return Err(bad());
    }
    let fields: Vec<String> = parts.map(str::to_string).collect();
    if fields.len() != n {
        return Err(bad());
    }
    Ok(fields)
}
