//! Helpers the relayer's end-to-end tests share: deposits straight into a devnet BridgeVault,
//! balances read from the chains, and the loop that drives indexer, gate and executors in one
//! process until a condition holds on the store.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use alloy::primitives::{Address, FixedBytes, U256};
use alloy::providers::Provider;
use atoll_adapters::evm::{EvmChain, RetryPolicy};
use atoll_adapters::solana::SolanaChain;
use atoll_core::settings::Settings;
use atoll_devnet::Devnet;
use atoll_devnet::contracts::{BridgeVault, TestToken};
use atoll_devnet::evm::{self, Role};
use atoll_indexer::Mode;
use atoll_relayer::ExecutorReport;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_relayer::solana_executor::SolanaExecutor;
use atoll_store::Store;

pub fn settings(net: &Devnet, dir: &std::path::Path) -> Settings {
    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    Settings::parse(&text, Vec::<(String, String)>::new(), dir).unwrap()
}

/// `atoll audit` on the devnet's chains and `store`: every test that moves money ends with it
/// clean, read from the chains. Returns the report for further checks.
pub async fn assert_audit_clean(
    settings: &Settings,
    store: &Store,
) -> atoll_relayer::audit::AuditReport {
    let report = atoll_relayer::audit::run(settings, store).await.unwrap();
    let found: Vec<String> = report
        .discrepancies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(report.clean, "audit discrepancies:\n{}", found.join("\n"));
    assert!(report.deposits_read > 0, "the audit read the chains");
    report
}

pub async fn store(settings: &Settings, dir: &std::path::Path) -> Store {
    let store = atoll_store::test_support::sqlite_in(dir).await.unwrap();
    store.migrate_up().await.unwrap();
    store.register_settings(settings).await.unwrap();
    store
}

/// A devnet with three deposits approved for release on BSC ([`ThreeReleasesToBsc`]), the
/// store they are in, and both EVM chains: what the EVM executor's fault tests start from.
pub struct BscReleaseFixture {
    /// Holds the devnet's and the store's files for as long as the test runs.
    pub dir: tempfile::TempDir,
    pub net: Devnet,
    pub settings: Settings,
    pub store: Store,
    pub bsc_id: u64,
    pub bsc: EvmChain,
    pub releases: ThreeReleasesToBsc,
}

impl BscReleaseFixture {
    /// `tune` adjusts the relayer's settings before the store is made.
    pub async fn up(tune: impl FnOnce(&mut atoll_core::settings::RelayerSettings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
        let mut settings = settings(&net, dir.path());
        tune(&mut settings.relayer);
        let store = store(&settings, dir.path()).await;
        let bsc_id = settings.chain("bsc").unwrap().chain_id.0;
        let (mut evm, _) = chains(&settings);
        let mut take = |name: &str| {
            let at = evm.iter().position(|(n, _)| n == name).unwrap();
            evm.swap_remove(at).1
        };
        let (eth, bsc) = (take("ethereum"), take("bsc"));
        let releases = ThreeReleasesToBsc::approve(&net, &settings, &store, &eth).await;
        BscReleaseFixture {
            dir,
            net,
            settings,
            store,
            bsc_id,
            bsc,
            releases,
        }
    }
}

/// A tuning for [`BscReleaseFixture::up`]: the node is asked about a pending transaction at
/// every step, and none is ever replaced, so what a test does to the node is seen at once and
/// no fee bump muddles it.
pub fn ask_every_step_never_replace(r: &mut atoll_core::settings::RelayerSettings) {
    r.pool_recheck = std::time::Duration::ZERO;
    r.replace_after = std::time::Duration::from_secs(3_600);
}

impl BscReleaseFixture {
    /// What a test body works with: the devnet, settings, store, BSC and the three releases.
    pub fn parts(&self) -> (&Devnet, &Settings, &Store, &EvmChain, &ThreeReleasesToBsc) {
        (
            &self.net,
            &self.settings,
            &self.store,
            &self.bsc,
            &self.releases,
        )
    }
}

/// The devnet user's address on an EVM chain, as a deposit's bytes32 recipient.
pub fn evm_user(net: &Devnet, chain: &str) -> [u8; 32] {
    let user = net
        .state
        .evm_chain(chain)
        .unwrap()
        .account(Role::User)
        .unwrap();
    let mut b = [0u8; 32];
    b[12..].copy_from_slice(user.as_slice());
    b
}

/// A deposit of `raw` units of `symbol` from the devnet user on EVM chain `from`.
pub async fn deposit(
    net: &Devnet,
    from: &str,
    symbol: &str,
    raw: U256,
    dst_chain_id: u64,
    recipient: [u8; 32],
) -> String {
    let chain = net.state.evm_chain(from).unwrap();
    let token = chain.token(symbol).unwrap();
    let p = evm::provider_for(&chain.rpc_url, Role::User).unwrap();
    let vault = BridgeVault::new(chain.bridge_vault, &p);
    let call = vault.deposit(
        token.address,
        raw,
        dst_chain_id,
        FixedBytes::from(recipient),
    );
    let receipt = evm::send(&p, call.into_transaction_request(), from, "deposit")
        .await
        .unwrap();
    format!("{:#x}", receipt.transaction_hash)
}

pub async fn evm_balance(net: &Devnet, chain: &str, token: Address, holder: Address) -> U256 {
    let c = net.state.evm_chain(chain).unwrap();
    let p = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
    TestToken::new(token, &p)
        .balanceOf(holder)
        .call()
        .await
        .unwrap()
}

pub async fn mine(net: &Devnet, blocks: u64) {
    for c in &net.state.evm {
        let node = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
        let _: serde_json::Value = node
            .raw_request("anvil_mine".into(), (blocks,))
            .await
            .unwrap();
    }
}

/// Indexer, gate and executors of every devnet chain, stepped in one process.
pub struct Relay<'a> {
    pub settings: &'a Settings,
    pub store: &'a Store,
    pub evm: Vec<(String, &'a EvmChain)>,
    pub solana: Option<&'a SolanaChain>,
    /// RPC faults are expected: a failed step is counted and the next round tries again (as
    /// `relayer run` does), instead of failing the test.
    pub tolerate_errors: bool,
}

pub fn chains(settings: &Settings) -> (Vec<(String, EvmChain)>, Option<SolanaChain>) {
    let evm = ["ethereum", "bsc"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                EvmChain::new(settings.chain(n).unwrap(), RetryPolicy::default()).unwrap(),
            )
        })
        .collect();
    let solana = settings
        .chain("solana")
        .map(|c| SolanaChain::new(c, RetryPolicy::default()).unwrap());
    (evm, solana)
}

impl Relay<'_> {
    fn failed(&self, what: &str) {
        assert!(self.tolerate_errors, "{what}");
        eprintln!("step failed (tolerated): {what}");
    }

    /// Steps everything until `done` holds on the store (mining a block per round so EVM
    /// deposits and releases reach finality), at most `rounds` times. The reports of every
    /// executor step, in order.
    pub async fn until<F, Fut>(&self, net: &Devnet, rounds: u32, done: F) -> Vec<ExecutorReport>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut evm_executors: Vec<EvmExecutor<'_>> = self
            .evm
            .iter()
            .map(|(n, c)| EvmExecutor::new(self.settings, self.store, c, n).unwrap())
            .collect();
        let solana_executor = self
            .solana
            .map(|c| SolanaExecutor::new(self.settings, self.store, c, "solana").unwrap());
        let mut reports = Vec::new();
        for _ in 0..rounds {
            if done().await {
                return reports;
            }
            mine(net, 1).await;
            for (chain, result) in atoll_indexer::run(
                self.settings,
                self.store,
                &[],
                Mode::Once,
                std::sync::Arc::new(|_| {}),
            )
            .await
            {
                if let Err(e) = result {
                    self.failed(&format!("indexing {chain}: {e}"));
                }
            }
            for (name, chain) in &self.evm {
                if let Err(e) =
                    atoll_relayer::gate::pass(self.settings, self.store, name, *chain).await
                {
                    self.failed(&format!("gate {name}: {e}"));
                }
            }
            if let Some(sol) = self.solana
                && let Err(e) =
                    atoll_relayer::gate::pass(self.settings, self.store, "solana", sol).await
            {
                self.failed(&format!("gate solana: {e}"));
            }
            for e in &mut evm_executors {
                match e.step().await {
                    Ok(r) => reports.push(r),
                    Err(err) => self.failed(&format!("executor: {err}")),
                }
            }
            if let Some(e) = &solana_executor {
                match e.step().await {
                    Ok(r) => reports.push(r),
                    Err(err) => self.failed(&format!("solana executor: {err}")),
                }
            }
            // Solana's finality comes with its slots: poll its progress.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(done().await, "condition not reached in {rounds} rounds");
        reports
    }
}

/// USDC deposits of `wholes` tokens from Ethereum to the devnet user on BSC, mined past their
/// confirmations, indexed and passed through Ethereum's finality gate (asserted approved).
/// Returns the recipient.
pub async fn approved_usdc_to_bsc(
    net: &Devnet,
    settings: &Settings,
    store: &Store,
    eth: &EvmChain,
    wholes: &[u64],
) -> [u8; 32] {
    let bsc_id = settings.chain("bsc").unwrap().chain_id.0;
    let recipient = evm_user(net, "bsc");
    for whole in wholes {
        deposit(
            net,
            "ethereum",
            "USDC",
            U256::from(whole * 1_000_000),
            bsc_id,
            recipient,
        )
        .await;
    }
    mine(net, 5).await;
    for (chain, r) in atoll_indexer::run(
        settings,
        store,
        &["ethereum".into()],
        Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await
    {
        r.unwrap_or_else(|e| panic!("{chain}: {e}"));
    }
    let gate = atoll_relayer::gate::pass(settings, store, "ethereum", eth)
        .await
        .unwrap();
    assert_eq!(gate.approved.len(), wholes.len(), "{gate:?}");
    recipient
}

/// Three approved USDC deposits (10, 20 and 30 USDC) from Ethereum to the devnet user on BSC,
/// with what the EVM release tests read around them: BSC's node, its USDC, the user and the
/// user's balance before anything was released.
pub struct ThreeReleasesToBsc {
    pub node: alloy::providers::DynProvider,
    pub usdc: Address,
    pub user: Address,
    pub before: U256,
}

/// The whole USDC of each of [`ThreeReleasesToBsc`]'s deposits.
pub const THREE_DEPOSITS: [u64; 3] = [10, 20, 30];

impl ThreeReleasesToBsc {
    pub async fn approve(
        net: &Devnet,
        settings: &Settings,
        store: &Store,
        eth: &EvmChain,
    ) -> ThreeReleasesToBsc {
        let recipient = approved_usdc_to_bsc(net, settings, store, eth, &THREE_DEPOSITS).await;
        let bsc = net.state.evm_chain("bsc").unwrap();
        let usdc = bsc.token("USDC").unwrap().address;
        let user = Address::from_slice(&recipient[12..]);
        ThreeReleasesToBsc {
            node: evm::provider_for(&bsc.rpc_url, Role::Deployer).unwrap(),
            usdc,
            user,
            before: evm_balance(net, "bsc", usdc, user).await,
        }
    }

    /// anvil's automine on BSC, on or off.
    pub async fn automine(&self, on: bool) {
        let _: serde_json::Value = self
            .node
            .raw_request("evm_setAutomine".into(), (on,))
            .await
            .unwrap();
    }

    /// The user received each deposit less the devnet route's fee (5 bps + 0.5 USDC), once:
    /// read from the chain.
    pub async fn assert_each_paid_once(&self, net: &Devnet) {
        let after = evm_balance(net, "bsc", self.usdc, self.user).await;
        let paid: u128 = THREE_DEPOSITS
            .iter()
            .map(|w| u128::from(*w) * 1_000_000)
            .map(|raw| raw - (raw * 5 / 10_000 + 500_000))
            .sum();
        assert_eq!(
            (after - self.before).to::<u128>(),
            paid,
            "each paid exactly once"
        );
    }
}

/// Steps `executor`, mining a block between steps, until `confirmed` holds `n` ids (at most 15
/// steps); asserts it got there. `confirmed` carries ids confirmed earlier in the test.
pub async fn step_until_confirmed(
    executor: &mut EvmExecutor<'_>,
    net: &Devnet,
    confirmed: &mut Vec<String>,
    n: usize,
) {
    for _ in 0..15 {
        confirmed.extend(executor.step().await.unwrap().confirmed);
        if confirmed.len() >= n {
            break;
        }
        mine(net, 1).await;
    }
    assert_eq!(confirmed.len(), n, "{confirmed:?}");
}

/// `chain`'s next base fee, in gwei (`anvil_setNextBlockBaseFeePerGas`), and one block mined
/// so the node's gas price follows.
pub async fn set_base_fee(net: &Devnet, chain: &str, gwei: u64) {
    let c = net.state.evm_chain(chain).unwrap();
    let node = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
    let _: serde_json::Value = node
        .raw_request(
            "anvil_setNextBlockBaseFeePerGas".into(),
            (U256::from(gwei) * U256::from(1_000_000_000u64),),
        )
        .await
        .unwrap();
    mine(net, 1).await;
}

/// The owner of BSC's vault takes `amount` of `token` out of it (`withdrawLiquidity`).
pub async fn withdraw_from_bsc_vault(net: &Devnet, token: Address, amount: U256) {
    let bsc = net.state.evm_chain("bsc").unwrap();
    let owner = evm::provider_for(&bsc.rpc_url, Role::Deployer).unwrap();
    let vault = BridgeVault::new(bsc.bridge_vault, &owner);
    let withdraw = vault.withdrawLiquidity(token, bsc.account(Role::Deployer).unwrap(), amount);
    evm::send(
        &owner,
        withdraw.into_transaction_request(),
        "bsc",
        "withdraw",
    )
    .await
    .unwrap();
}

/// The owner of BSC's vault puts `amount` of `token` back (`addLiquidity`).
pub async fn top_up_bsc_vault(net: &Devnet, token: Address, amount: U256) {
    let bsc = net.state.evm_chain("bsc").unwrap();
    let owner = evm::provider_for(&bsc.rpc_url, Role::Deployer).unwrap();
    let vault = BridgeVault::new(bsc.bridge_vault, &owner);
    let add = vault.addLiquidity(token, amount);
    evm::send(&owner, add.into_transaction_request(), "bsc", "top up")
        .await
        .unwrap();
}
