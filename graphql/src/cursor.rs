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

/// `decode`, behind every `after:` argument, takes any text: random, base64 of random text,
/// and the API's own cursors mutated; what it returns is bounded by the cursor (`n` fields,
/// each a piece of it), and a 1 MiB cursor returns promptly. `transfers(after:)` reads the
/// first of its two fields as a number, as here. Longer run:
/// `PROPTEST_CASES=200000 PROPTEST_RNG_SEED=$RANDOM cargo test -p atoll-graphql --lib --release cursor::any_text`.
#[cfg(test)]
mod any_text {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn config(cases: u32) -> ProptestConfig {
        let mut c = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            c.cases = cases;
        }
        // The suite is deterministic: one fixed seed, unless PROPTEST_RNG_SEED picks another
        // (for the long runs).
        if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
            c.rng_seed = proptest::test_runner::RngSeed::Fixed(0xA7011);
        }
        c
    }

    fn check(cursor: &str) -> Result<(), TestCaseError> {
        for (kind, n) in [("t1", 2), ("p1", 3), ("t1", 0), ("", 1)] {
            match decode(cursor, kind, n, "list") {
                Ok(fields) => {
                    prop_assert_eq!(fields.len(), n);
                    prop_assert!(fields.iter().map(String::len).sum::<usize>() <= cursor.len());
                    prop_assert_eq!(
                        decode(
                            &encode(kind, &fields.iter().map(String::as_str).collect::<Vec<_>>()),
                            kind,
                            n,
                            "list"
                        )
                        .ok(),
                        Some(fields.clone())
                    );
                    if kind == "t1" && n == 2 {
                        let _ = fields[0].parse::<i64>();
                    }
                }
                Err(e) => prop_assert!(e.to_string().len() <= 2 * cursor.len() + 128),
            }
        }
        Ok(())
    }

    fn mutate(text: &str, edits: &[(u8, usize, String)]) -> String {
        let mut d = text.as_bytes().to_vec();
        for (kind, i, piece) in edits {
            let n = d.len();
            match kind % 3 {
                0 if n > 0 => d[i % n] ^= piece.bytes().next().unwrap_or(1).max(1),
                1 => d.truncate(i % (n + 1)),
                _ => {
                    let at = i % (n + 1);
                    d.splice(at..at, piece.bytes());
                }
            }
        }
        String::from_utf8_lossy(&d).into_owned()
    }

    proptest! {
        #![proptest_config(config(2_000))]

        #[test]
        fn random_text(cursor in any::<String>()) {
            check(&cursor)?;
        }

        #[test]
        fn random_fields(kind in "t1|p1|.{0,3}", fields in prop::collection::vec(".{0,12}", 0..5)) {
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            check(&encode(&kind, &refs))?;
        }

        #[test]
        fn mutated_real_cursors(
            created in any::<i64>(),
            id in any::<[u8; 32]>(),
            inner in any::<bool>(),
            edits in prop::collection::vec((any::<u8>(), any::<usize>(), "[A-Za-z0-9|=_-]{0,4}"), 1..6),
        ) {
            let id = atoll_core::TransferId(id).to_string();
            let created = created.to_string();
            let cursor = if inner {
                let text = mutate(&format!("t1|{created}|{id}"), &edits);
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
            } else {
                mutate(&encode("t1", &[&created, &id]), &edits)
            };
            check(&cursor)?;
        }
    }

    #[test]
    fn a_mebibyte_returns_promptly() {
        let mib = 1 << 20;
        let t = std::time::Instant::now();
        for text in [
            "|".repeat(mib),
            format!("t1|{}", "9".repeat(mib)),
            "\u{0}".repeat(mib),
        ] {
            let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&text);
            check(&cursor).unwrap();
            check(&text).unwrap();
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(4),
            "{:?}",
            t.elapsed()
        );
    }
}
