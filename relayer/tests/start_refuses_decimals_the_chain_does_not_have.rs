//! The relayer does not start on decimals its chains contradict: every amount out is scaled by
//! them, so a wrong figure pays powers of ten too much or too little. The devnet's config, with
//! BSC's USDC said to have one decimal more than its contract reports, is refused at start with
//! the token, the chain and both figures; the devnet's own config starts (and is stopped).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use atoll_devnet::Devnet;
use atoll_relayer::run::{RunOptions, run};

#[tokio::test]
async fn wrong_decimals_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings(&net, dir.path());
    let store = common::store(&settings, dir.path()).await;
    let mut wrong = settings.clone();
    let usdc = wrong
        .tokens
        .iter_mut()
        .find(|t| t.symbol == "USDC")
        .unwrap();
    let on_bsc = usdc
        .deployments
        .iter_mut()
        .find(|d| d.chain == "bsc")
        .unwrap();
    let real = on_bsc.decimals;
    on_bsc.decimals = real + 1;
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let err = run(
        Arc::new(wrong),
        store.clone(),
        RunOptions::default(),
        shutdown,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("config: token decimals differ"), "{err}");
    assert!(err.contains("USDC ("), "{err}");
    assert!(
        err.contains(&format!(
            "on bsc: decimals {} in the config, {real} on chain",
            real + 1
        )),
        "{err}"
    );

    // The devnet's own config passes the check and runs until told to stop.
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(run(
        Arc::new(settings),
        store,
        RunOptions::default(),
        shutdown,
    ));
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
}
