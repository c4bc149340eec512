//! EVM side of the devnet: anvil nodes, then on each chain the test tokens, the real Uniswap V2
//! factory with seeded pairs, the real Uniswap V3 factory with initialised pools and liquidity
//! (minted through our `V3PoolDriver`), and a `BridgeVault` funded with release liquidity.

use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::aliases::{I24, U24, U160};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;
use serde::{Deserialize, Serialize};

use crate::DevnetError;
use crate::contracts::{
    BridgeVault, IUniswapV2Factory, IUniswapV3Factory, IUniswapV3Pool, TestToken, V3PoolDriver,
};

/// Roles on every EVM devnet chain, taken from anvil's default (public, test-only) accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Deployer,
    Relayer,
    Trader,
    User,
    Treasury,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Deployer,
        Role::Relayer,
        Role::Trader,
        Role::User,
        Role::Treasury,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Deployer => "deployer",
            Role::Relayer => "relayer",
            Role::Trader => "trader",
            Role::User => "user",
            Role::Treasury => "treasury",
        }
    }

    /// anvil's well-known mnemonic accounts 0..4 ("test test … junk"): devnet only.
    pub fn anvil_key(self) -> &'static str {
        match self {
            Role::Deployer => "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
            Role::Relayer => "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
            Role::Trader => "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
            Role::User => "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
            Role::Treasury => "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        }
    }

    pub fn signer(self) -> Result<PrivateKeySigner, DevnetError> {
        self.anvil_key()
            .parse()
            .map_err(|e| DevnetError::Config(format!("anvil key for {}: {e}", self.as_str())))
    }
}

/// What one EVM chain of the devnet looks like.
#[derive(Debug, Clone)]
pub struct EvmChainPlan {
    pub name: &'static str,
    pub chain_id: u64,
    pub native_symbol: &'static str,
    pub native_price_usd: u64,
    /// Scales every pool's seeded depth, so the chains' yields differ.
    pub depth_percent: u64,
}

pub const ETHEREUM: EvmChainPlan = EvmChainPlan {
    name: "ethereum",
    chain_id: 1,
    native_symbol: "WETH",
    native_price_usd: 3000,
    depth_percent: 100,
};
pub const BSC: EvmChainPlan = EvmChainPlan {
    name: "bsc",
    chain_id: 56,
    native_symbol: "WBNB",
    native_price_usd: 600,
    depth_percent: 40,
};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeployedToken {
    pub symbol: String,
    pub address: Address,
    pub decimals: u8,
    pub price_usd: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeployedPool {
    pub protocol: String,
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    /// Swap fee in millionths.
    pub fee_ppm: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvmDeployment {
    pub name: String,
    pub chain_id: u64,
    pub rpc_url: String,
    pub tokens: Vec<DeployedToken>,
    pub v2_factory: Address,
    pub v2_pairs: Vec<DeployedPool>,
    pub v3_factory: Address,
    pub v3_driver: Address,
    pub v3_pools: Vec<DeployedPool>,
    pub bridge_vault: Address,
    /// The chain's Aave v3 market (real `@aave/core-v3` bytecode).
    #[serde(default)]
    pub aave: Option<crate::aave::AaveMarket>,
    /// The Compound v3 market (a test double: [`crate::comet`]).
    #[serde(default)]
    pub comet: Option<crate::comet::CometMarket>,
    pub accounts: Vec<(Role, Address)>,
    pub deployed_at_block: u64,
}

impl EvmDeployment {
    pub fn token(&self, symbol: &str) -> Option<&DeployedToken> {
        self.tokens.iter().find(|t| t.symbol == symbol)
    }

    pub fn account(&self, role: Role) -> Option<Address> {
        self.accounts
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, a)| *a)
    }
}

/// A provider that signs as `role`.
pub fn provider_for(rpc_url: &str, role: Role) -> Result<DynProvider, DevnetError> {
    let url = rpc_url
        .parse()
        .map_err(|e| DevnetError::Config(format!("rpc url {rpc_url}: {e}")))?;
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(role.signer()?))
        .connect_http(url)
        .erased())
}

/// Sends a transaction and waits for its receipt. anvil mines on arrival, so the receipt is
/// polled right away rather than at alloy's default block interval. A revert is an error.
pub async fn send(
    provider: &DynProvider,
    mut tx: TransactionRequest,
    chain: &str,
    step: &str,
) -> Result<TransactionReceipt, DevnetError> {
    let fail = DevnetError::step(chain, step);
    if tx.gas.is_none() {
        // Estimates fall short in two ways seen here: calls through callbacks (V3 swaps forward
        // 63/64 of the gas), and V2 pairs, which write their price accumulators only when the
        // block's timestamp moved since their last update: an estimate made within the same
        // second misses two SSTOREs (~44k gas). Gas is free on a devnet: double it.
        let estimate = provider
            .estimate_gas(tx.clone())
            .await
            .map_err(|e| DevnetError::step(chain, step)(format!("estimate gas: {e}")))?;
        tx.gas = Some(estimate.saturating_mul(2).saturating_add(100_000));
    }
    let pending = provider
        .send_transaction(tx.clone())
        .await
        .map_err(|e| DevnetError::step(chain, step)(e.to_string()))?;
    let hash = *pending.tx_hash();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match provider.get_transaction_receipt(hash).await {
            Ok(Some(r)) if r.status() => return Ok(r),
            Ok(Some(r)) => {
                // Replaying the call on the block before says why (anvil mines one tx per block).
                let before = r.block_number.unwrap_or_default().saturating_sub(1);
                let why = match provider.call(tx).block(before.into()).await {
                    Err(e) => e.to_string(),
                    Ok(_) => {
                        let number = r.block_number.unwrap_or_default();
                        let block = provider
                            .get_block_by_number(number.into())
                            .await
                            .ok()
                            .flatten();
                        let count = block.map(|b| b.transactions.len()).unwrap_or_default();
                        format!(
                            "the replay on the block before succeeds; block {number} holds {count} \
                             transaction(s), this one from {}",
                            r.from
                        )
                    }
                };
                return Err(fail(format!(
                    "transaction {hash} reverted in block {:?}: {why}",
                    r.block_number
                )));
            }
            Ok(None) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Ok(None) => return Err(fail(format!("transaction {hash} not mined within 30s"))),
            Err(e) => return Err(fail(e.to_string())),
        }
    }
}

fn whole(units: u128, decimals: u8) -> U256 {
    U256::from(units) * U256::from(10u8).pow(U256::from(decimals))
}

struct Deployer<'a> {
    plan: &'a EvmChainPlan,
    provider: DynProvider,
    rpc_url: String,
    accounts: Vec<(Role, Address)>,
}

impl Deployer<'_> {
    fn addr(&self, role: Role) -> Address {
        self.accounts
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, a)| *a)
            .unwrap_or_default()
    }

    /// Two 6-decimal stables and the 18-decimal wrapped native, minted to every role.
    async fn deploy_tokens(&self) -> Result<Vec<DeployedToken>, DevnetError> {
        let d = self;
        let plan = d.plan;
        let addr = |role: Role| d.addr(role);
        let mut tokens = Vec::new();
        for (symbol, name, decimals, price) in [
            ("USDC", "USD Coin (devnet)", 6u8, 1u64),
            ("USDT", "Tether USD (devnet)", 6, 1),
            (
                plan.native_symbol,
                "Wrapped native (devnet)",
                18,
                plan.native_price_usd,
            ),
        ] {
            let code = TestToken::deploy_builder(
                &d.provider,
                name.to_string(),
                symbol.to_string(),
                decimals,
            )
            .calldata()
            .clone();
            let address = d.deploy(code, &format!("deploy {symbol}")).await?;
            let token = TestToken::new(address, &d.provider);
            for (role, amount) in [
                (Role::Deployer, 1_000_000_000u128),
                (Role::Trader, 100_000_000),
                (Role::User, 100_000_000),
                (Role::Treasury, 10_000_000),
            ] {
                let units = amount / u128::from(price.max(1));
                let tx = token
                    .mint(addr(role), whole(units, decimals))
                    .into_transaction_request();
                d.send(tx, &format!("mint {symbol} to {}", role.as_str()))
                    .await?;
            }
            tokens.push(DeployedToken {
                symbol: symbol.to_string(),
                address,
                decimals,
                price_usd: price,
            });
        }
        Ok(tokens)
    }

    /// The real `UniswapV2Factory` and three seeded pairs.
    async fn deploy_v2(
        &self,
        node_modules: &std::path::Path,
        usdc: &DeployedToken,
        usdt: &DeployedToken,
        native: &DeployedToken,
    ) -> Result<(Address, Vec<DeployedPool>), DevnetError> {
        let d = self;
        let plan = d.plan;
        let addr = |role: Role| d.addr(role);
        // Uniswap V2: the real factory bytecode, constructor(feeToSetter).
        let mut code = crate::contracts::uniswap_v2_factory_bytecode(node_modules)?.to_vec();
        code.extend_from_slice(&addr(Role::Deployer).abi_encode());
        let v2_factory = d.deploy(code.into(), "deploy UniswapV2Factory").await?;
        let factory = IUniswapV2Factory::new(v2_factory, &d.provider);
        let mut v2_pairs = Vec::new();
        for (a, b, depth_usd) in [
            (&usdc, &native, 6_000_000u64),
            (&usdt, &native, 3_000_000),
            (&usdc, &usdt, 2_000_000),
        ] {
            let depth = depth_usd * plan.depth_percent / 100;
            let step = format!("V2 pair {}/{}", a.symbol, b.symbol);
            d.send(
                factory
                    .createPair(a.address, b.address)
                    .into_transaction_request(),
                &step,
            )
            .await?;
            let pair = factory
                .getPair(a.address, b.address)
                .call()
                .await
                .map_err(|e| DevnetError::step(plan.name, &step)(e.to_string()))?;
            for t in [a, b] {
                let amount = whole(u128::from(depth / 2 / t.price_usd), t.decimals);
                d.send(
                    TestToken::new(t.address, &d.provider)
                        .transfer(pair, amount)
                        .into_transaction_request(),
                    &step,
                )
                .await?;
            }
            d.send(
                crate::contracts::IUniswapV2Pair::new(pair, &d.provider)
                    .mint(addr(Role::Deployer))
                    .into_transaction_request(),
                &step,
            )
            .await?;
            let (token0, token1) = if a.address < b.address {
                (a.address, b.address)
            } else {
                (b.address, a.address)
            };
            v2_pairs.push(DeployedPool {
                protocol: "uniswap_v2".into(),
                address: pair,
                token0,
                token1,
                fee_ppm: 3000,
            });
        }

        Ok((v2_factory, v2_pairs))
    }

    /// The real `UniswapV3Factory`, our `V3PoolDriver`, and two pools with full-range liquidity.
    async fn deploy_v3(
        &self,
        node_modules: &std::path::Path,
        usdc: &DeployedToken,
        usdt: &DeployedToken,
        native: &DeployedToken,
    ) -> Result<(Address, Address, Vec<DeployedPool>), DevnetError> {
        let d = self;
        let plan = d.plan;
        // Uniswap V3: the real factory, pools initialised at the tokens' prices, full-range liquidity.
        let v3_factory = d
            .deploy(
                crate::contracts::uniswap_v3_factory_bytecode(node_modules)?,
                "deploy UniswapV3Factory",
            )
            .await?;
        let driver_code = V3PoolDriver::deploy_builder(&d.provider, v3_factory)
            .calldata()
            .clone();
        let v3_driver = d.deploy(driver_code, "deploy V3PoolDriver").await?;
        for t in [&usdc, &usdt, &native] {
            d.send(
                TestToken::new(t.address, &d.provider)
                    .approve(v3_driver, U256::MAX)
                    .into_transaction_request(),
                "approve driver",
            )
            .await?;
        }
        let v3f = IUniswapV3Factory::new(v3_factory, &d.provider);
        let driver = V3PoolDriver::new(v3_driver, &d.provider);
        let mut v3_pools = Vec::new();
        for (a, b, fee, spacing, depth_usd) in [
            (&usdc, &native, 3000u32, 60i32, 4_000_000u64),
            (&usdc, &usdt, 500, 10, 2_000_000),
        ] {
            let depth = depth_usd * plan.depth_percent / 100;
            let step = format!("V3 pool {}/{} {fee}", a.symbol, b.symbol);
            let e = |s: &str| DevnetError::step(plan.name, s);
            d.send(
                v3f.createPool(a.address, b.address, U24::from(fee))
                    .into_transaction_request(),
                &step,
            )
            .await?;
            let pool = v3f
                .getPool(a.address, b.address, U24::from(fee))
                .call()
                .await
                .map_err(|x| e(&step)(x.to_string()))?;
            let (t0, t1) = if a.address < b.address {
                (a, b)
            } else {
                (b, a)
            };
            // price = raw token1 per raw token0.
            let price = (t0.price_usd as f64 / t1.price_usd as f64)
                * 10f64.powi(i32::from(t1.decimals) - i32::from(t0.decimals));
            let sqrt_price = price.sqrt();
            let sqrt_price_x96 = U160::from((sqrt_price * 2f64.powi(96)) as u128);
            d.send(
                IUniswapV3Pool::new(pool, &d.provider)
                    .initialize(sqrt_price_x96)
                    .into_transaction_request(),
                &step,
            )
            .await?;
            // Full range: amount1 ≈ L·√P, so L = amount1 / √P.
            let amount1 = (depth / 2 / t1.price_usd) as f64 * 10f64.powi(i32::from(t1.decimals));
            let liquidity = (amount1 / sqrt_price) as u128;
            let max_tick = 887_272 / spacing * spacing;
            let (lower, upper) = (
                I24::try_from(-max_tick).unwrap_or_default(),
                I24::try_from(max_tick).unwrap_or_default(),
            );
            d.send(
                driver
                    .mint(pool, lower, upper, liquidity)
                    .into_transaction_request(),
                &step,
            )
            .await?;
            v3_pools.push(DeployedPool {
                protocol: "uniswap_v3".into(),
                address: pool,
                token0: t0.address,
                token1: t1.address,
                fee_ppm: fee,
            });
        }

        Ok((v3_factory, v3_driver, v3_pools))
    }

    /// `BridgeVault` with the relayer role and liquidity; users' standing approvals.
    async fn deploy_vault(
        &self,
        v3_driver: Address,
        tokens: [&DeployedToken; 3],
    ) -> Result<Address, DevnetError> {
        let d = self;
        let plan = d.plan;
        let addr = |role: Role| d.addr(role);
        let [usdc, usdt, native] = tokens;
        // BridgeVault: owned by the deployer, the devnet relayer key as relayer, liquidity in it.
        let vault_code = BridgeVault::deploy_builder(&d.provider, addr(Role::Deployer))
            .calldata()
            .clone();
        let bridge_vault = d.deploy(vault_code, "deploy BridgeVault").await?;
        let vault = BridgeVault::new(bridge_vault, &d.provider);
        d.send(
            vault
                .setRelayer(addr(Role::Relayer), true)
                .into_transaction_request(),
            "setRelayer",
        )
        .await?;
        for t in [&usdc, &usdt, &native] {
            let token = TestToken::new(t.address, &d.provider);
            d.send(
                token
                    .approve(bridge_vault, U256::MAX)
                    .into_transaction_request(),
                "approve vault",
            )
            .await?;
            let amount = whole(u128::from(5_000_000 / t.price_usd), t.decimals);
            d.send(
                vault
                    .addLiquidity(t.address, amount)
                    .into_transaction_request(),
                &format!("addLiquidity {}", t.symbol),
            )
            .await?;
        }
        // Users approve once, so traffic is one transaction per action.
        for (role, spender) in [
            (Role::User, bridge_vault),
            (Role::Trader, v3_driver),
            (Role::Treasury, bridge_vault),
        ] {
            let p = provider_for(&d.rpc_url, role)?;
            for t in [&usdc, &usdt, &native] {
                send(
                    &p,
                    TestToken::new(t.address, &p)
                        .approve(spender, U256::MAX)
                        .into_transaction_request(),
                    plan.name,
                    "approve",
                )
                .await?;
            }
        }

        Ok(bridge_vault)
    }

    async fn send(
        &self,
        tx: TransactionRequest,
        step: &str,
    ) -> Result<TransactionReceipt, DevnetError> {
        send(&self.provider, tx, self.plan.name, step).await
    }

    async fn deploy(&self, code: Bytes, step: &str) -> Result<Address, DevnetError> {
        let r = self
            .send(TransactionRequest::default().with_deploy_code(code), step)
            .await?;
        r.contract_address.ok_or_else(|| {
            DevnetError::step(self.plan.name, step)("no contract address in receipt".into())
        })
    }
}

/// Deploys everything on one anvil chain. Deterministic: the same plan gives the same addresses.
pub async fn deploy_chain(
    plan: &EvmChainPlan,
    rpc_url: &str,
    node_modules: &std::path::Path,
) -> Result<EvmDeployment, DevnetError> {
    let accounts: Vec<(Role, Address)> = Role::ALL
        .iter()
        .map(|r| Ok((*r, r.signer()?.address())))
        .collect::<Result<_, DevnetError>>()?;
    let d = Deployer {
        plan,
        provider: provider_for(rpc_url, Role::Deployer)?,
        rpc_url: rpc_url.to_string(),
        accounts: accounts.clone(),
    };
    let tokens = d.deploy_tokens().await?;
    let tok = |s: &str| tokens.iter().find(|t| t.symbol == s).cloned();
    let (Some(usdc), Some(usdt), Some(native)) =
        (tok("USDC"), tok("USDT"), tok(plan.native_symbol))
    else {
        return Err(DevnetError::step(plan.name, "tokens")(
            "a token is missing".into(),
        ));
    };
    let deployed_at_block = d
        .provider
        .get_block_number()
        .await
        .map_err(|e| DevnetError::step(plan.name, "block number")(e.to_string()))?;

    let (v2_factory, v2_pairs) = d.deploy_v2(node_modules, &usdc, &usdt, &native).await?;
    let (v3_factory, v3_driver, v3_pools) =
        d.deploy_v3(node_modules, &usdc, &usdt, &native).await?;
    let bridge_vault = d.deploy_vault(v3_driver, [&usdc, &usdt, &native]).await?;
    let aave = crate::aave::deploy_market(plan, rpc_url, node_modules, &tokens).await?;
    let comet = crate::comet::deploy_market(plan, rpc_url, &tokens, &aave).await?;
    Ok(EvmDeployment {
        name: plan.name.to_string(),
        chain_id: plan.chain_id,
        rpc_url: d.rpc_url.clone(),
        tokens,
        v2_factory,
        v2_pairs,
        v3_factory,
        v3_driver,
        v3_pools,
        bridge_vault,
        aave: Some(aave),
        comet: Some(comet),
        accounts,
        deployed_at_block,
    })
}

/// anvil's environment: one tokio worker thread. Automine hands its miner the pool's whole
/// ready set on every wake-up, and a set still being mined is handed over again. With two
/// workers the miner runs beside the request that makes a run of transactions ready, wakes
/// once per transaction, and mines the same set once more per wake-up. One full block, then up
/// to 31 empty ones for a 32-transaction batch, each costing a state root over the whole
/// state. On one worker the miner runs only after the request is done, and mines the run once.
pub const ANVIL_ENV: &[(&str, &str)] = &[("TOKIO_WORKER_THREADS", "1")];

/// anvil's command line for one devnet chain. One slot per epoch puts the `finalized` tag two
/// blocks behind the head, so the relayer waits on the same tag it uses on mainnet.
pub fn anvil_args(chain_id: u64, port: u16, block_gas_limit: Option<u64>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--chain-id",
        &chain_id.to_string(),
        "--accounts",
        "10",
        "--balance",
        "1000000",
        "--slots-in-an-epoch",
        "1",
        "--no-request-size-limit",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(limit) = block_gas_limit {
        args.extend(["--gas-limit".to_string(), limit.to_string()]);
    }
    args
}

/// Waits until the node answers `eth_chainId` with `chain_id`.
pub async fn wait_ready(rpc_url: &str, chain_id: u64, timeout: Duration) -> Result<(), String> {
    let url = rpc_url.parse().map_err(|e| format!("{e}"))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let deadline = Instant::now() + timeout;
    loop {
        match provider.get_chain_id().await {
            Ok(id) if id == chain_id => return Ok(()),
            Ok(id) => {
                return Err(format!(
                    "node at {rpc_url} reports chain id {id}, expected {chain_id}"
                ));
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}
