//! Contract bindings. Atoll's own contracts come from the artifacts committed in
//! `contracts/artifacts/` (embedded in the binary); Uniswap's V2/V3 factories are deployed from the
//! build artifacts shipped in the pinned npm packages, read from the tool cache at run time.

use std::path::Path;

use alloy::primitives::Bytes;
use alloy::sol;

use crate::DevnetError;

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs, clippy::too_many_arguments)]
    BridgeVault,
    "../contracts/artifacts/BridgeVault.json"
);

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

sol! {
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IUniswapV2Factory {
        function createPair(address tokenA, address tokenB) external returns (address pair);
        function getPair(address tokenA, address tokenB) external view returns (address pair);
        function allPairsLength() external view returns (uint256);
        event PairCreated(address indexed token0, address indexed token1, address pair, uint256);
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IUniswapV2Pair {
        function token0() external view returns (address);
        function token1() external view returns (address);
        function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
        function mint(address to) external returns (uint256 liquidity);
        function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
        event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to);
        event Sync(uint112 reserve0, uint112 reserve1);
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IUniswapV3Factory {
        function createPool(address tokenA, address tokenB, uint24 fee) external returns (address pool);
        function getPool(address tokenA, address tokenB, uint24 fee) external view returns (address pool);
        event PoolCreated(address indexed token0, address indexed token1, uint24 indexed fee, int24 tickSpacing, address pool);
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IUniswapV3Pool {
        function token0() external view returns (address);
        function token1() external view returns (address);
        function fee() external view returns (uint24);
        function liquidity() external view returns (uint128);
        function initialize(uint160 sqrtPriceX96) external;
        function slot0() external view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked);
        event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick);
    }
}

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
