//! `atoll up` stops on SIGTERM: the indexer, following every chain, stops with the relayer and
//! the API instead of being dropped mid-flight. Both kinds of chain are stopped: one following
//! its head, one still waiting for a dead endpoint to answer. What was indexed before the stop
//! stays, and a later run resumes from its checkpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use atoll_indexer::{Mode, POOLS_STREAM};

#[tokio::test]
async fn following_chains_stop_when_asked_and_keep_what_they_indexed() {
    let (dir, store_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // BSC's only endpoint is down: its indexer waits to start, with backoff.
    // The devnet's nodes live as long as `_net`.
    let (_net, settings, proxy, store) =
        common::devnet_with_bsc_down(dir.path(), store_dir.path(), 7).await;
    let (sink, mut progress) = common::progress_channel();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let indexer = {
        let (settings, store) = (settings.clone(), store.clone());
        tokio::spawn(async move {
            atoll_indexer::run_until(&settings, &store, &[], Mode::Follow, sink, shutdown).await
        })
    };

    // Ethereum has committed a pool batch: it is following.
    let first = loop {
        let p = progress.recv().await.expect("a batch of ethereum");
        if p.stream == POOLS_STREAM {
            break p;
        }
    };
    assert_eq!(first.chain, "ethereum");
    let before = common::indexed(&store).await;

    stop.send(true).unwrap();
    // A guard against a hang, not a synchronisation: the stop is immediate.
    let results = tokio::time::timeout(Duration::from_secs(30), indexer)
        .await
        .expect("the indexer stops when asked")
        .unwrap();
    let mut chains: Vec<_> = results.iter().map(|(c, _)| c.as_str()).collect();
    chains.sort_unstable();
    assert_eq!(chains, ["bsc", "ethereum"]);
    for (chain, result) in &results {
        assert!(result.is_ok(), "{chain} stopped with an error: {result:?}");
    }
    // What was committed stays; a one-shot run resumes from the checkpoint and finishes.
    let after = common::indexed(&store).await;
    assert!(!before.events.is_empty());
    assert_eq!(
        after.events[..before.events.len()],
        before.events[..],
        "events committed before the stop are kept as they were"
    );
    proxy.set_dead(false);
    for (chain, result) in
        atoll_indexer::run(&settings, &store, &[], Mode::Once, common::no_progress()).await
    {
        result.unwrap_or_else(|e| panic!("{chain} after the stop: {e}"));
    }
    let resumed = common::indexed(&store).await;
    assert!(resumed.events.len() >= after.events.len());
    assert!(
        resumed.checkpoints.len() > after.checkpoints.len(),
        "bsc, never started before the stop, is indexed by the next run"
    );
}
