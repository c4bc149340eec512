//! An Aave v3 market on each EVM devnet chain, deployed from the real bytecode shipped in
//! `@aave/core-v3` (pinned in `tools/package.json`): the logic libraries (linked into Pool and
//! PoolConfigurator the way Hardhat links them), PoolAddressesProvider, ACLManager, AaveOracle
//! over one `MockAggregator` per token (the token's devnet price, 8 decimals), the Pool and
//! PoolConfigurator behind the provider's proxies, and one reserve per devnet token with
//! Aave's production-style rate strategy. Seeded with supply and variable borrows so the
//! reserves start utilised; [`traffic`] then supplies, borrows, repays and withdraws.
//!
//! Read this when a lending test fails at deploy time, or to see which account holds what:
//! the deployer supplies depth, the trader borrows against native collateral, the user supplies.
//! Incentives (Aave's periphery RewardsController) are in [`crate::aave_rewards`].

use std::path::Path;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol;
use alloy::sol_types::SolValue;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::DevnetError;
use crate::contracts::TestToken;
use crate::evm::{DeployedToken, EvmChainPlan, EvmDeployment, Role, provider_for, send};
use crate::state::DevnetState;

pub use atoll_adapters::evm::aave_abi::{IAavePool, IAavePoolAddressesProvider};

sol! {
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAclManager {
        function addPoolAdmin(address admin) external;
        function addRiskAdmin(address admin) external;
    }

    #[derive(Debug)]
    struct InitReserveInput {
        address aTokenImpl;
        address stableDebtTokenImpl;
        address variableDebtTokenImpl;
        uint8 underlyingAssetDecimals;
        address interestRateStrategyAddress;
        address underlyingAsset;
        address treasury;
        address incentivesController;
        string aTokenName;
        string aTokenSymbol;
        string variableDebtTokenName;
        string variableDebtTokenSymbol;
        string stableDebtTokenName;
        string stableDebtTokenSymbol;
        bytes params;
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IPoolConfigurator {
        function initReserves(InitReserveInput[] input) external;
        function configureReserveAsCollateral(address asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus) external;
        function setReserveBorrowing(address asset, bool enabled) external;
        function setSupplyCap(address asset, uint256 newSupplyCap) external;
        function setBorrowCap(address asset, uint256 newBorrowCap) external;
        function setReserveFactor(address asset, uint256 newReserveFactor) external;
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IMockAggregator {
        function latestAnswer() external view returns (int256);
    }
}

/// One reserve of the devnet market.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AaveReserve {
    pub symbol: String,
    pub asset: Address,
    pub a_token: Address,
    pub variable_debt_token: Address,
    pub strategy: Address,
    /// The token's price feed (a `MockAggregator`, USD with 8 decimals).
    pub price_feed: Address,
}

/// The devnet's Aave v3 market on one chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AaveMarket {
    pub addresses_provider: Address,
    pub pool: Address,
    pub configurator: Address,
    pub oracle: Address,
    pub reserves: Vec<AaveReserve>,
    /// The market's incentives: its `RewardsController` and the emission it runs.
    #[serde(default)]
    pub rewards: crate::aave_rewards::AaveRewards,
}

/// A reserve's risk and rate parameters, Aave's production values for the kind of asset.
struct ReserveParams {
    /// Optimal usage, base rate, slope 1, slope 2, in basis points.
    strategy_bps: [u64; 4],
    ltv_bps: u64,
    threshold_bps: u64,
    reserve_factor_bps: u64,
    /// Caps in USD (whole tokens on chain).
    supply_cap_usd: u64,
    borrow_cap_usd: u64,
}

fn params_for(token: &DeployedToken) -> ReserveParams {
    if token.price_usd == 1 {
        ReserveParams {
            strategy_bps: [9000, 0, 400, 6000],
            ltv_bps: 7700,
            threshold_bps: 8000,
            reserve_factor_bps: 1000,
            supply_cap_usd: 50_000_000,
            borrow_cap_usd: 40_000_000,
        }
    } else {
        ReserveParams {
            strategy_bps: [8000, 0, 380, 8000],
            ltv_bps: 8000,
            threshold_bps: 8250,
            reserve_factor_bps: 1500,
            supply_cap_usd: 60_000_000,
            borrow_cap_usd: 30_000_000,
        }
    }
}

const MARKET_ID: &str = "Atoll devnet market";
const RAY_PER_BPS: u128 = 100_000_000_000_000_000_000_000; // 1e27 / 1e4

/// Reads a Hardhat artifact of `@aave/core-v3` and links the named libraries into it: each
/// placeholder `__$<34 hex of keccak256("<source>:<name>")>$__` becomes the library's address.
pub fn linked_bytecode(
    node_modules: &Path,
    artifact: &str,
    libraries: &[(&str, Address)],
) -> Result<Bytes, DevnetError> {
    // Core artifacts are named relative to the core package's contracts; others (the
    // periphery's) by their package.
    let path = if artifact.starts_with('@') {
        node_modules.join(artifact)
    } else {
        node_modules
            .join("@aave/core-v3/artifacts/contracts")
            .join(artifact)
    };
    let err = |reason: String| DevnetError::Artifact {
        artifact: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| err(format!("{e} (run `atoll tools install`)")))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let mut code = json
        .get("bytecode")
        .and_then(|b| b.as_str())
        .ok_or_else(|| err("no \"bytecode\" field".into()))?
        .trim_start_matches("0x")
        .to_string();
    let refs = json.get("linkReferences").and_then(|r| r.as_object());
    for (source, names) in refs.into_iter().flatten() {
        for name in names.as_object().into_iter().flatten().map(|(n, _)| n) {
            let address = libraries
                .iter()
                .find(|(lib, _)| lib == name)
                .map(|(_, a)| *a)
                .ok_or_else(|| err(format!("library {name} is not deployed")))?;
            let hash = hex::encode(keccak256(format!("{source}:{name}")));
            let placeholder = format!("__${}$__", &hash[..34]);
            code = code.replace(&placeholder, &hex::encode(address));
        }
    }
    if code.contains("__$") {
        return Err(err("an unlinked library placeholder is left".into()));
    }
    let bytes = hex::decode(&code).map_err(|e| err(format!("bytecode is not hex: {e}")))?;
    Ok(Bytes::from(bytes))
}

pub(crate) struct MarketDeployer<'a> {
    pub(crate) plan: &'a EvmChainPlan,
    pub(crate) provider: DynProvider,
    node_modules: &'a Path,
    pub(crate) deployer: Address,
}

impl MarketDeployer<'_> {
    pub(crate) async fn send(&self, tx: TransactionRequest, step: &str) -> Result<(), DevnetError> {
        send(&self.provider, tx, self.plan.name, step)
            .await
            .map(|_| ())
    }

    /// Deploys an artifact with ABI-encoded constructor arguments appended.
    pub(crate) async fn deploy(
        &self,
        artifact: &str,
        libraries: &[(&str, Address)],
        args: &[u8],
    ) -> Result<Address, DevnetError> {
        let mut code = linked_bytecode(self.node_modules, artifact, libraries)?.to_vec();
        code.extend_from_slice(args);
        let step = format!("deploy {artifact}");
        let r = send(
            &self.provider,
            TransactionRequest::default().with_deploy_code(Bytes::from(code)),
            self.plan.name,
            &step,
        )
        .await?;
        r.contract_address.ok_or_else(|| {
            DevnetError::step(self.plan.name, &step)("no contract address in receipt".into())
        })
    }

    pub(crate) async fn call<T>(
        &self,
        call: impl std::future::IntoFuture<Output = Result<T, alloy::contract::Error>>,
        step: &str,
    ) -> Result<T, DevnetError> {
        call.await
            .map_err(|e| DevnetError::step(self.plan.name, step)(e.to_string()))
    }

    /// The logic libraries, FlashLoanLogic linked to BorrowLogic; returns (name, address).
    async fn libraries(&self) -> Result<Vec<(&'static str, Address)>, DevnetError> {
        let mut libs: Vec<(&'static str, Address)> = Vec::new();
        for name in [
            "SupplyLogic",
            "BorrowLogic",
            "LiquidationLogic",
            "EModeLogic",
            "BridgeLogic",
            "PoolLogic",
            "FlashLoanLogic",
            "ConfiguratorLogic",
        ] {
            let artifact = format!("protocol/libraries/logic/{name}.sol/{name}.json");
            let address = self.deploy(&artifact, &libs, &[]).await?;
            libs.push((name, address));
        }
        Ok(libs)
    }

    /// Provider, ACL, Pool and PoolConfigurator (behind the provider's proxies).
    async fn core(
        &self,
        libs: &[(&str, Address)],
    ) -> Result<(Address, Address, Address), DevnetError> {
        let provider_address = self
            .deploy(
                "protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider.json",
                &[],
                &(MARKET_ID.to_string(), self.deployer).abi_encode_params(),
            )
            .await?;
        let provider = IAavePoolAddressesProvider::new(provider_address, &self.provider);
        self.send(
            provider
                .setACLAdmin(self.deployer)
                .into_transaction_request(),
            "setACLAdmin",
        )
        .await?;
        let acl = self
            .deploy(
                "protocol/configuration/ACLManager.sol/ACLManager.json",
                &[],
                &provider_address.abi_encode(),
            )
            .await?;
        self.send(
            provider.setACLManager(acl).into_transaction_request(),
            "setACLManager",
        )
        .await?;
        let acl = IAclManager::new(acl, &self.provider);
        self.send(
            acl.addPoolAdmin(self.deployer).into_transaction_request(),
            "addPoolAdmin",
        )
        .await?;
        self.send(
            acl.addRiskAdmin(self.deployer).into_transaction_request(),
            "addRiskAdmin",
        )
        .await?;
        let pool_impl = self
            .deploy(
                "protocol/pool/Pool.sol/Pool.json",
                libs,
                &provider_address.abi_encode(),
            )
            .await?;
        self.send(
            provider.setPoolImpl(pool_impl).into_transaction_request(),
            "setPoolImpl",
        )
        .await?;
        let configurator_impl = self
            .deploy(
                "protocol/pool/PoolConfigurator.sol/PoolConfigurator.json",
                libs,
                &[],
            )
            .await?;
        self.send(
            provider
                .setPoolConfiguratorImpl(configurator_impl)
                .into_transaction_request(),
            "setPoolConfiguratorImpl",
        )
        .await?;
        let pool = self.call(provider.getPool().call(), "getPool").await?;
        let configurator = self
            .call(provider.getPoolConfigurator().call(), "getPoolConfigurator")
            .await?;
        Ok((provider_address, pool, configurator))
    }

    /// One `MockAggregator` per token and the `AaveOracle` over them (USD, 8 decimals).
    async fn oracle(
        &self,
        provider_address: Address,
        tokens: &[DeployedToken],
    ) -> Result<(Address, Vec<Address>), DevnetError> {
        let mut feeds = Vec::new();
        for t in tokens {
            let answer = alloy::primitives::I256::try_from(u128::from(t.price_usd) * 100_000_000)
                .unwrap_or_default();
            feeds.push(
                self.deploy(
                    "mocks/oracle/CLAggregators/MockAggregator.sol/MockAggregator.json",
                    &[],
                    &answer.abi_encode(),
                )
                .await?,
            );
        }
        let assets: Vec<Address> = tokens.iter().map(|t| t.address).collect();
        let oracle = self
            .deploy(
                "misc/AaveOracle.sol/AaveOracle.json",
                &[],
                &(
                    provider_address,
                    assets,
                    feeds.clone(),
                    Address::ZERO,
                    Address::ZERO,
                    U256::from(100_000_000u64),
                )
                    .abi_encode_params(),
            )
            .await?;
        let provider = IAavePoolAddressesProvider::new(provider_address, &self.provider);
        self.send(
            provider.setPriceOracle(oracle).into_transaction_request(),
            "setPriceOracle",
        )
        .await?;
        Ok((oracle, feeds))
    }
}

fn whole(units: u128, decimals: u8) -> U256 {
    U256::from(units) * U256::from(10u8).pow(U256::from(decimals))
}

impl MarketDeployer<'_> {
    /// The tokens' implementations, one rate strategy per reserve, `initReserves`, then the
    /// reserve's risk parameters (collateral, borrowing, caps, reserve factor).
    async fn reserves(
        &self,
        provider_address: Address,
        pool: Address,
        configurator: Address,
        tokens: &[DeployedToken],
        feeds: &[Address],
        incentives: Address,
    ) -> Result<Vec<AaveReserve>, DevnetError> {
        let treasury = Role::Treasury.signer()?.address();
        let on_pool = pool.abi_encode();
        let a_token = self
            .deploy(
                "protocol/tokenization/AToken.sol/AToken.json",
                &[],
                &on_pool,
            )
            .await?;
        let stable_debt = self
            .deploy(
                "protocol/tokenization/StableDebtToken.sol/StableDebtToken.json",
                &[],
                &on_pool,
            )
            .await?;
        let variable_debt = self
            .deploy(
                "protocol/tokenization/VariableDebtToken.sol/VariableDebtToken.json",
                &[],
                &on_pool,
            )
            .await?;
        let configurator = IPoolConfigurator::new(configurator, &self.provider);
        let aave_pool = IAavePool::new(pool, &self.provider);
        let mut reserves = Vec::new();
        for (t, feed) in tokens.iter().zip(feeds) {
            let p = params_for(t);
            let strategy = self.strategy(provider_address, &p).await?;
            let input = InitReserveInput {
                aTokenImpl: a_token,
                stableDebtTokenImpl: stable_debt,
                variableDebtTokenImpl: variable_debt,
                underlyingAssetDecimals: t.decimals,
                interestRateStrategyAddress: strategy,
                underlyingAsset: t.address,
                treasury,
                incentivesController: incentives,
                aTokenName: format!("Aave devnet {}", t.symbol),
                aTokenSymbol: format!("a{}", t.symbol),
                variableDebtTokenName: format!("Aave devnet variable debt {}", t.symbol),
                variableDebtTokenSymbol: format!("variableDebt{}", t.symbol),
                stableDebtTokenName: format!("Aave devnet stable debt {}", t.symbol),
                stableDebtTokenSymbol: format!("stableDebt{}", t.symbol),
                params: Bytes::new(),
            };
            let step = format!("Aave reserve {}", t.symbol);
            self.send(
                configurator
                    .initReserves(vec![input])
                    .into_transaction_request(),
                &step,
            )
            .await?;
            self.configure(&configurator, t, &p, &step).await?;
            let data = self
                .call(aave_pool.getReserveData(t.address).call(), &step)
                .await?;
            reserves.push(AaveReserve {
                symbol: t.symbol.clone(),
                asset: t.address,
                a_token: data.aTokenAddress,
                variable_debt_token: data.variableDebtTokenAddress,
                strategy,
                price_feed: *feed,
            });
        }
        Ok(reserves)
    }
}

impl MarketDeployer<'_> {
    /// A `DefaultReserveInterestRateStrategy` with `p`'s curve. Stable-rate borrowing stays
    /// disabled; its parameters only have to be valid.
    async fn strategy(
        &self,
        provider_address: Address,
        p: &ReserveParams,
    ) -> Result<Address, DevnetError> {
        let ray = |bps: u64| U256::from(u128::from(bps) * RAY_PER_BPS);
        let [optimal, base, slope1, slope2] = p.strategy_bps;
        self.deploy(
            "protocol/pool/DefaultReserveInterestRateStrategy.sol/DefaultReserveInterestRateStrategy.json",
            &[],
            &(
                provider_address,
                ray(optimal),
                ray(base),
                ray(slope1),
                ray(slope2),
                ray(slope1),
                ray(slope2),
                ray(200),
                ray(500),
                ray(2000),
            )
                .abi_encode_params(),
        )
        .await
    }

    /// The reserve's risk parameters: collateral, borrowing, caps, reserve factor.
    async fn configure(
        &self,
        configurator: &IPoolConfigurator::IPoolConfiguratorInstance<&DynProvider>,
        t: &DeployedToken,
        p: &ReserveParams,
        step: &str,
    ) -> Result<(), DevnetError> {
        let price = u64::max(t.price_usd, 1);
        for tx in [
            configurator
                .configureReserveAsCollateral(
                    t.address,
                    U256::from(p.ltv_bps),
                    U256::from(p.threshold_bps),
                    U256::from(10_500u64),
                )
                .into_transaction_request(),
            configurator
                .setReserveBorrowing(t.address, true)
                .into_transaction_request(),
            configurator
                .setSupplyCap(t.address, U256::from(p.supply_cap_usd / price))
                .into_transaction_request(),
            configurator
                .setBorrowCap(t.address, U256::from(p.borrow_cap_usd / price))
                .into_transaction_request(),
            configurator
                .setReserveFactor(t.address, U256::from(p.reserve_factor_bps))
                .into_transaction_request(),
        ] {
            self.send(tx, step).await?;
        }
        Ok(())
    }
}

/// Sends `tx` signed as `role`.
async fn send_as(
    rpc_url: &str,
    chain: &str,
    role: Role,
    tx: TransactionRequest,
    step: &str,
) -> Result<(), DevnetError> {
    send(&provider_for(rpc_url, role)?, tx, chain, step)
        .await
        .map(|_| ())
}

/// Every role approves the pool once; the deployer supplies each reserve's depth; the trader
/// supplies native collateral and borrows each reserve to its starting utilisation.
async fn seed(
    plan: &EvmChainPlan,
    rpc_url: &str,
    pool: Address,
    tokens: &[DeployedToken],
) -> Result<(), DevnetError> {
    let chain = plan.name;
    for role in [Role::Deployer, Role::Trader, Role::User] {
        let p = provider_for(rpc_url, role)?;
        for t in tokens {
            let tx = TestToken::new(t.address, &p)
                .approve(pool, U256::MAX)
                .into_transaction_request();
            send(&p, tx, chain, "approve Aave pool").await?;
        }
    }
    let deployer = Role::Deployer.signer()?.address();
    let trader = Role::Trader.signer()?.address();
    let p = provider_for(rpc_url, Role::Deployer)?;
    let aave = IAavePool::new(pool, &p);
    let native = tokens.iter().find(|t| t.price_usd > 1);
    let mut supplied: Vec<u128> = Vec::new();
    for t in tokens {
        let depth_usd = if t.price_usd > 1 {
            6_000_000
        } else {
            5_000_000
        };
        let units = u128::from(depth_usd * plan.depth_percent / 100 / t.price_usd.max(1));
        let tx = aave
            .supply(t.address, whole(units, t.decimals), deployer, 0)
            .into_transaction_request();
        send_as(rpc_url, chain, Role::Deployer, tx, "Aave supply depth").await?;
        supplied.push(units);
    }
    // The trader's collateral is native; it is part of the native reserve's supply.
    let collateral_usd = 30_000_000;
    if let Some(native) = native {
        let units = u128::from(collateral_usd / native.price_usd);
        let tx = aave
            .supply(native.address, whole(units, native.decimals), trader, 0)
            .into_transaction_request();
        send_as(rpc_url, chain, Role::Trader, tx, "Aave collateral").await?;
    }
    // Starting utilisation per reserve: USDC 60 %, USDT 50 %, native 30 % of its supply.
    for (t, units) in tokens.iter().zip(supplied) {
        let (percent, supply) = match t.symbol.as_str() {
            "USDC" => (60, units),
            "USDT" => (50, units),
            _ => (30, units + u128::from(collateral_usd / t.price_usd.max(1))),
        };
        let tx = aave
            .borrow(
                t.address,
                whole(supply * percent / 100, t.decimals),
                U256::from(2u8),
                0,
                trader,
            )
            .into_transaction_request();
        send_as(rpc_url, chain, Role::Trader, tx, "Aave borrow").await?;
    }
    Ok(())
}

/// Deploys and seeds the chain's Aave v3 market.
pub async fn deploy_market(
    plan: &EvmChainPlan,
    rpc_url: &str,
    node_modules: &Path,
    tokens: &[DeployedToken],
) -> Result<AaveMarket, DevnetError> {
    let d = MarketDeployer {
        plan,
        provider: provider_for(rpc_url, Role::Deployer)?,
        node_modules,
        deployer: Role::Deployer.signer()?.address(),
    };
    let libs = d.libraries().await?;
    let (addresses_provider, pool, configurator) = d.core(&libs).await?;
    let (oracle, feeds) = d.oracle(addresses_provider, tokens).await?;
    let controller = crate::aave_rewards::deploy_controller(&d).await?;
    let reserves = d
        .reserves(
            addresses_provider,
            pool,
            configurator,
            tokens,
            &feeds,
            controller,
        )
        .await?;
    seed(plan, rpc_url, pool, tokens).await?;
    // `seed` signed as the deployer through providers of its own: a fresh one here, so the
    // nonce it caches is the chain's.
    let d = MarketDeployer {
        provider: provider_for(rpc_url, Role::Deployer)?,
        ..d
    };
    let rewards = crate::aave_rewards::start_emission(&d, controller, &reserves, tokens).await?;
    Ok(AaveMarket {
        addresses_provider,
        pool,
        configurator,
        oracle,
        reserves,
        rewards,
    })
}

/// One lending action of [`traffic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LendingAction {
    Supply,
    Withdraw,
    Borrow,
    Repay,
}

impl LendingAction {
    /// A random action, given what the traffic `held` supplied and borrowed there: a withdraw
    /// or repay of more than that becomes its opposite, so traffic only ever takes back what
    /// it put in.
    pub(crate) fn pick(rng: &mut ChaCha8Rng, held: (U256, U256), amount: U256) -> LendingAction {
        match rng.random_range(0..4u8) {
            0 => LendingAction::Supply,
            1 if held.0 >= amount => LendingAction::Withdraw,
            1 => LendingAction::Supply,
            2 => LendingAction::Borrow,
            _ if held.1 >= amount => LendingAction::Repay,
            _ => LendingAction::Borrow,
        }
    }

    /// Books the action into what the traffic holds (supplied, borrowed).
    pub(crate) fn book(self, held: &mut (U256, U256), amount: U256) {
        match self {
            LendingAction::Supply => held.0 += amount,
            LendingAction::Withdraw => held.0 -= amount,
            LendingAction::Borrow => held.1 += amount,
            LendingAction::Repay => held.1 -= amount,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LendingRecord {
    pub chain: String,
    pub symbol: String,
    pub action: LendingAction,
    /// In the token's smallest unit.
    pub amount: U256,
}

/// `actions` deterministic lending actions over the chains' Aave markets: the user supplies
/// and withdraws (never more than it supplied here), the trader borrows and repays (never more
/// than it borrowed here), each 0.1–1 % of the reserve's seeded depth. Same seed, same actions.
pub async fn traffic(
    state: &DevnetState,
    actions: u32,
    seed: u64,
) -> Result<Vec<LendingRecord>, DevnetError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let markets: Vec<(&EvmDeployment, &AaveMarket)> = state
        .evm
        .iter()
        .filter_map(|c| c.aave.as_ref().map(|m| (c, m)))
        .collect();
    if markets.is_empty() {
        return Ok(Vec::new());
    }
    // (chain, reserve) → what traffic supplied and borrowed there, so withdraws and repays
    // never exceed it.
    let mut held: std::collections::HashMap<(usize, usize), (U256, U256)> = Default::default();
    let mut records = Vec::new();
    for _ in 0..actions {
        let c = rng.random_range(0..markets.len());
        let (chain, market) = markets[c];
        let r = rng.random_range(0..market.reserves.len().max(1));
        let Some(reserve) = market.reserves.get(r) else {
            continue;
        };
        let Some(token) = chain.tokens.iter().find(|t| t.address == reserve.asset) else {
            continue;
        };
        let depth_usd: u128 = if token.price_usd > 1 {
            6_000_000
        } else {
            5_000_000
        };
        let bps = rng.random_range(10u128..=100);
        let units = depth_usd * bps / 10_000 / u128::from(token.price_usd.max(1));
        let mut amount = whole(units, token.decimals);
        let entry = held.entry((c, r)).or_default();
        let action = LendingAction::pick(&mut rng, *entry, amount);
        amount = amount.max(U256::from(1u8));
        let (role, tx) = lending_tx(market.pool, reserve.asset, action, amount)?;
        send_as(&chain.rpc_url, &chain.name, role, tx, "Aave traffic").await?;
        action.book(entry, amount);
        records.push(LendingRecord {
            chain: chain.name.clone(),
            symbol: reserve.symbol.clone(),
            action,
            amount,
        });
    }
    Ok(records)
}

/// The transaction of one action and who signs it.
fn lending_tx(
    pool: Address,
    asset: Address,
    action: LendingAction,
    amount: U256,
) -> Result<(Role, TransactionRequest), DevnetError> {
    use alloy::sol_types::SolCall;
    let user = Role::User.signer()?.address();
    let trader = Role::Trader.signer()?.address();
    let variable = U256::from(2u8);
    let (role, data) = match action {
        LendingAction::Supply => (
            Role::User,
            IAavePool::supplyCall::new((asset, amount, user, 0)).abi_encode(),
        ),
        LendingAction::Withdraw => (
            Role::User,
            IAavePool::withdrawCall::new((asset, amount, user)).abi_encode(),
        ),
        LendingAction::Borrow => (
            Role::Trader,
            IAavePool::borrowCall::new((asset, amount, variable, 0, trader)).abi_encode(),
        ),
        LendingAction::Repay => (
            Role::Trader,
            IAavePool::repayCall::new((asset, amount, variable, trader)).abi_encode(),
        ),
    };
    Ok((
        role,
        TransactionRequest::default()
            .with_to(pool)
            .with_input(Bytes::from(data)),
    ))
}
