//! `atoll demo`, the README's main command, through the real binary (EVM chains only, to keep
//! the test short): it prints the GraphiQL URL, the API answers with indexed pools and relayed
//! transfers from its own traffic, the operator token it made works for a mutation and is never
//! printed, and SIGINT stops everything it started.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            != Some("Z")
}

async fn post(url: &str, query: &str, token: Option<&str>) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": query }).to_string());
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    match req.send().await {
        Ok(r) => {
            serde_json::from_slice(&r.bytes().await.unwrap_or_default()).unwrap_or(Value::Null)
        }
        Err(_) => Value::Null,
    }
}

#[tokio::test]
async fn the_demo_serves_the_stack_and_stops_everything_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_atoll"))
        .args([
            "demo",
            "--no-solana",
            "--listen",
            "127.0.0.1:0",
            "--traffic-every-s",
            "1",
            "--dir",
        ])
        .arg(dir.path())
        .env_remove("ATOLL_OPERATOR_TOKEN")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines.next().expect("the demo prints its URL").unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.trim().strip_prefix("GraphiQL:") {
            break rest.trim().trim_end_matches('/').to_string();
        }
    };
    let token = std::fs::read_to_string(dir.path().join("operator.token")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("operator.token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Its traffic is indexed and relayed.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Value::Null;
    while Instant::now() < deadline {
        seen = post(
            &url,
            "{ topYields(limit: 1) { id } transfers(filter: {status: CONFIRMED}) { totalCount } }",
            None,
        )
        .await;
        if seen["data"]["topYields"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
            && seen["data"]["transfers"]["totalCount"].as_i64() > Some(0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        seen["data"]["transfers"]["totalCount"].as_i64() > Some(0),
        "pools and confirmed transfers within 120 s: {seen}"
    );
    let v = post(
        &url,
        "mutation { pauseChain(chain: \"bsc\") { paused } }",
        Some(token.trim()),
    )
    .await;
    assert_eq!(v["data"]["pauseChain"]["paused"], true, "{v}");
    let v = post(
        &url,
        "mutation { resumeChain(chain: \"bsc\") { paused } }",
        None,
    )
    .await;
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{v}"
    );
    assert!(
        !printed.join("\n").contains(token.trim()),
        "the token is never printed"
    );

    let nodes: Vec<u32> = atoll_devnet::network::status(dir.path())
        .into_iter()
        .filter(|n| n.running)
        .map(|n| n.process.pid)
        .collect();
    assert!(nodes.len() >= 2, "anvil ×2 running");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the demo stops within 60 s of SIGINT"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "{exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("stopping the devnet")),
        "{rest:?}"
    );
    for pid in nodes {
        assert!(!alive(pid), "node {pid} still runs after the demo stopped");
    }
}
