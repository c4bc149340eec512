//! Contract bindings for deploying and driving the devnet. The interfaces the adapters read
//! (Uniswap, ERC20, BridgeVault) are the adapters' own, re-exported here; the devnet-only
//! contracts (TestToken, V3PoolDriver, and the Compound v3 test doubles CometDouble and
//! CometRewardsDouble) come from the artifacts committed in
//! `contracts/artifacts/`; Uniswap's factories are deployed from the build artifacts shipped in
//! the pinned npm packages, read from the tool cache at run time.

use std::path::Path;

use alloy::primitives::Bytes;
use alloy::sol;

use crate::DevnetError;

pub use atoll_adapters::evm::abi::{
    BridgeVault, IERC20, IUniswapV2Factory, IUniswapV2Pair, IUniswapV3Factory, IUniswapV3Pool,
};

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    TestToken,
    "../contracts/artifacts/TestToken.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    V3PoolDriver,
    "../contracts/artifacts/V3PoolDriver.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    CometDouble,
    "../contracts/artifacts/CometDouble.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    CometRewardsDouble,
    "../contracts/artifacts/CometRewardsDouble.json"
);

/// Creation bytecode of `UniswapV2Factory` from `@uniswap/v2-core`'s build folder.
pub fn uniswap_v2_factory_bytecode(node_modules: &Path) -> Result<Bytes, DevnetError> {
    artifact_bytecode(&node_modules.join("@uniswap/v2-core/build/UniswapV2Factory.json"))
}

/// Creation bytecode of `UniswapV3Factory` from `@uniswap/v3-core`'s artifacts.
pub fn uniswap_v3_factory_bytecode(node_modules: &Path) -> Result<Bytes, DevnetError> {
    artifact_bytecode(
        &node_modules.join(
            "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
        ),
    )
}

fn artifact_bytecode(path: &Path) -> Result<Bytes, DevnetError> {
    let err = |reason: String| DevnetError::Artifact {
        artifact: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("{e} (run `atoll tools install`)")))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    // Waffle artifacts (v2-core) keep it under "bytecode" without 0x, Hardhat ones (v3-core) with.
    let hex_code = json
        .get("bytecode")
        .and_then(|b| {
            b.as_str()
                .or_else(|| b.get("object").and_then(|o| o.as_str()))
        })
        .ok_or_else(|| err("no \"bytecode\" field".into()))?;
    let code = hex::decode(hex_code.trim_start_matches("0x"))
        .map_err(|e| err(format!("bytecode is not hex: {e}")))?;
    if code.is_empty() {
        return Err(err("empty bytecode".into()));
    }
    Ok(Bytes::from(code))
}
