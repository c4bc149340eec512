//! Contract interfaces the EVM adapter reads and calls, typed with `sol!`: ERC20, Uniswap V2
//! factories and pairs, Uniswap V3 factories and pools (PancakeSwap's V2 shares the V2 ABI), and
//! Atoll's own `BridgeVault`, from the artifact committed in `contracts/artifacts/`.

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs, clippy::too_many_arguments)]
    BridgeVault,
    "../contracts/artifacts/BridgeVault.json"
);

sol! {
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IERC20 {
        function decimals() external view returns (uint8);
        function symbol() external view returns (string);
        function balanceOf(address account) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
        function transfer(address to, uint256 amount) external returns (bool);
        event Transfer(address indexed from, address indexed to, uint256 value);
    }

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
        event Mint(address indexed sender, uint256 amount0, uint256 amount1);
        event Burn(address indexed sender, uint256 amount0, uint256 amount1, address indexed to);
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
        event Mint(address sender, address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1);
        event Burn(address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1);
    }
}
