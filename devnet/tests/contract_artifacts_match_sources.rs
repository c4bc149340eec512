//! The committed contract artifacts (embedded in the binary) are exactly what the pinned solc
//! makes of `contracts/src`: editing a contract without regenerating them fails here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn committed_artifacts_are_what_the_sources_compile_to() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let out = Command::new("node")
        .arg(repo.join("contracts/build.mjs"))
        .arg("--check")
        .output()
        .expect("node is needed to run the pinned solcjs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "contracts/artifacts are stale or solc is missing:\n{text}"
    );
    assert!(
        text.contains("contracts/artifacts match contracts/src"),
        "{text}"
    );
}
