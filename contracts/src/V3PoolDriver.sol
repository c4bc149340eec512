// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20Minimal, SafeTransfer} from "./SafeTransfer.sol";

interface IUniswapV3PoolMinimal {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function fee() external view returns (uint24);
    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data)
        external
        returns (uint256 amount0, uint256 amount1);
    function swap(
        address recipient,
        bool zeroForOne,
        int256 amountSpecified,
        uint160 sqrtPriceLimitX96,
        bytes calldata data
    ) external returns (int256 amount0, int256 amount1);
}

interface IUniswapV2PairMinimal {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

interface IUniswapV3FactoryMinimal {
    function getPool(address tokenA, address tokenB, uint24 fee) external view returns (address);
}

/// @title V3PoolDriver
/// @notice Devnet helper: Uniswap V3 pools only mint and swap through a caller that implements
/// their callbacks. This is that caller, paying from the account that called it (which must have
/// approved this contract). Callbacks are accepted only from pools of the configured factory.
/// It also runs bursts of Uniswap V2 swaps in one transaction, so load tests can make 100,000
/// real swaps in seconds.
contract V3PoolDriver {
    using SafeTransfer for address;

    address public immutable factory;

    error NotFactoryPool(address caller);

    uint160 internal constant MIN_SQRT_RATIO = 4295128739;
    uint160 internal constant MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342;

    constructor(address factory_) {
        factory = factory_;
    }

    function mint(address pool, int24 tickLower, int24 tickUpper, uint128 liquidity)
        external
        returns (uint256 amount0, uint256 amount1)
    {
        return IUniswapV3PoolMinimal(pool).mint(msg.sender, tickLower, tickUpper, liquidity, abi.encode(msg.sender));
    }

    /// @notice Exact-input swap (amountIn > 0) with no price limit beyond the pool's bounds.
    function swapExactIn(address pool, bool zeroForOne, uint256 amountIn)
        external
        returns (int256 amount0, int256 amount1)
    {
        uint160 limit = zeroForOne ? MIN_SQRT_RATIO + 1 : MAX_SQRT_RATIO - 1;
        return IUniswapV3PoolMinimal(pool).swap(msg.sender, zeroForOne, int256(amountIn), limit, abi.encode(msg.sender));
    }

    /// @notice `count` swaps on a Uniswap V2 pair (30 bps fee) in one transaction, alternating
    /// direction (token0 in first), each paying in `bps` of the input side's reserve, from the caller.
    function swapV2Burst(address pair, uint256 count, uint256 bps) external {
        for (uint256 i = 0; i < count; i++) {
            _swapV2(pair, i % 2 == 0, bps);
        }
    }

    function _swapV2(address pair, bool zeroForOne, uint256 bps) private {
        IUniswapV2PairMinimal p = IUniswapV2PairMinimal(pair);
        (uint112 r0, uint112 r1,) = p.getReserves();
        (uint256 rIn, uint256 rOut) = zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 amountIn = rIn * bps / 10_000;
        uint256 withFee = amountIn * 997;
        uint256 amountOut = withFee * rOut / (rIn * 1000 + withFee);
        (zeroForOne ? p.token0() : p.token1()).safeTransferFrom(msg.sender, pair, amountIn);
        p.swap(zeroForOne ? 0 : amountOut, zeroForOne ? amountOut : 0, msg.sender, "");
    }

    function uniswapV3MintCallback(uint256 amount0Owed, uint256 amount1Owed, bytes calldata data) external {
        _pay(amount0Owed, amount1Owed, data);
    }

    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external {
        _pay(amount0Delta > 0 ? uint256(amount0Delta) : 0, amount1Delta > 0 ? uint256(amount1Delta) : 0, data);
    }

    function _pay(uint256 amount0, uint256 amount1, bytes calldata data) private {
        IUniswapV3PoolMinimal pool = IUniswapV3PoolMinimal(msg.sender);
        address token0 = pool.token0();
        address token1 = pool.token1();
        if (IUniswapV3FactoryMinimal(factory).getPool(token0, token1, pool.fee()) != msg.sender) {
            revert NotFactoryPool(msg.sender);
        }
        address payer = abi.decode(data, (address));
        if (amount0 > 0) token0.safeTransferFrom(payer, msg.sender, amount0);
        if (amount1 > 0) token1.safeTransferFrom(payer, msg.sender, amount1);
    }
}
