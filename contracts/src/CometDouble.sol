// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {SafeTransfer} from "./SafeTransfer.sol";

interface IPriceFeedAnswer {
    function latestAnswer() external view returns (int256);
}

/// @title CometDouble
/// @notice A TEST DOUBLE of Compound v3's Comet, for the devnet and Atoll's tests. Comet's
/// bytecode is in no registry reachable here, so this contract reproduces the parts of Comet
/// that Atoll reads, with Comet's names, storage shapes and arithmetic (`Comet.sol`,
/// `CometCore.sol` of compound-finance/comet): the kinked per-second supply and borrow rate
/// curves (`getSupplyRate`, `getBorrowRate` of `getUtilization`), interest accrual into
/// `baseSupplyIndex` / `baseBorrowIndex` (1e15 scale), the reward tracking indexes driven by
/// `baseTrackingSupplySpeed` / `baseTrackingBorrowSpeed`, `totalsBasic`, `totalSupply`,
/// `totalBorrow`, principal and present values, and the `Supply` / `Withdraw` / `Transfer`
/// events of base supply, withdrawal, borrowing (a withdrawal past a balance) and repayment.
///
/// It is NOT Comet: collateral is not modelled (a borrow is not checked against collateral,
/// there is no liquidation, absorb or buyCollateral), accounts' reward accrual is not kept,
/// nothing is pausable, and the configuration is set at construction rather than by a
/// Configurator. `getPrice` reads `latestAnswer` (the devnet's feeds are Aave's
/// `MockAggregator`, which has no `latestRoundData`). Collateral assets exist only as a
/// registry (`getAssetInfoByAddress`) so a reward token can be priced the way Comet's own
/// asset list prices COMP. `setBaseTrackingSupplySpeed` stands for the governance upgrade that
/// changes a speed on Comet.
contract CometDouble {
    struct TotalsBasic {
        uint64 baseSupplyIndex;
        uint64 baseBorrowIndex;
        uint64 trackingSupplyIndex;
        uint64 trackingBorrowIndex;
        uint104 totalSupplyBase;
        uint104 totalBorrowBase;
        uint40 lastAccrualTime;
        uint8 pauseFlags;
    }

    struct AssetInfo {
        uint8 offset;
        address asset;
        address priceFeed;
        uint64 scale;
        uint64 borrowCollateralFactor;
        uint64 liquidateCollateralFactor;
        uint64 liquidationFactor;
        uint128 supplyCap;
    }

    /// Per-year rates and factors (1e18 = 100 %), as Comet's Configuration gives them.
    struct Configuration {
        address baseToken;
        address baseTokenPriceFeed;
        uint64 supplyKink;
        uint64 supplyPerYearInterestRateSlopeLow;
        uint64 supplyPerYearInterestRateSlopeHigh;
        uint64 supplyPerYearInterestRateBase;
        uint64 borrowKink;
        uint64 borrowPerYearInterestRateSlopeLow;
        uint64 borrowPerYearInterestRateSlopeHigh;
        uint64 borrowPerYearInterestRateBase;
        uint64 baseTrackingSupplySpeed;
        uint64 baseTrackingBorrowSpeed;
        uint104 baseMinForRewards;
        uint104 baseBorrowMin;
    }

    uint64 internal constant FACTOR_SCALE = 1e18;
    uint64 internal constant BASE_INDEX_SCALE = 1e15;
    uint64 internal constant SECONDS_PER_YEAR = 31_536_000;

    address public immutable governor;
    address public immutable baseToken;
    address public immutable baseTokenPriceFeed;
    uint8 public immutable decimals;
    uint64 public immutable baseScale;
    uint64 public constant trackingIndexScale = 1e15;
    uint64 public immutable supplyKink;
    uint64 public immutable supplyPerSecondInterestRateSlopeLow;
    uint64 public immutable supplyPerSecondInterestRateSlopeHigh;
    uint64 public immutable supplyPerSecondInterestRateBase;
    uint64 public immutable borrowKink;
    uint64 public immutable borrowPerSecondInterestRateSlopeLow;
    uint64 public immutable borrowPerSecondInterestRateSlopeHigh;
    uint64 public immutable borrowPerSecondInterestRateBase;
    uint104 public immutable baseMinForRewards;
    uint104 public immutable baseBorrowMin;
    uint64 public baseTrackingSupplySpeed;
    uint64 public baseTrackingBorrowSpeed;

    uint64 internal baseSupplyIndex;
    uint64 internal baseBorrowIndex;
    uint64 internal trackingSupplyIndex;
    uint64 internal trackingBorrowIndex;
    uint104 internal totalSupplyBase;
    uint104 internal totalBorrowBase;
    uint40 internal lastAccrualTime;

    mapping(address => int104) public principalOf;
    AssetInfo[] internal assets;

    event Supply(address indexed from, address indexed dst, uint256 amount);
    event Withdraw(address indexed src, address indexed to, uint256 amount);
    event Transfer(address indexed from, address indexed to, uint256 amount);
    /// The double's stand-in for a governance upgrade changing the supply speed.
    event BaseTrackingSupplySpeedSet(uint64 speed);

    error NotGovernor();
    error NotBaseToken(address asset);
    error BorrowTooSmall();
    error InsufficientLiquidity(uint256 available, uint256 wanted);
    error BadAsset();

    constructor(Configuration memory c) {
        governor = msg.sender;
        baseToken = c.baseToken;
        baseTokenPriceFeed = c.baseTokenPriceFeed;
        uint8 d = IDecimals(c.baseToken).decimals();
        decimals = d;
        baseScale = uint64(10 ** d);
        supplyKink = c.supplyKink;
        supplyPerSecondInterestRateSlopeLow = c.supplyPerYearInterestRateSlopeLow / SECONDS_PER_YEAR;
        supplyPerSecondInterestRateSlopeHigh = c.supplyPerYearInterestRateSlopeHigh / SECONDS_PER_YEAR;
        supplyPerSecondInterestRateBase = c.supplyPerYearInterestRateBase / SECONDS_PER_YEAR;
        borrowKink = c.borrowKink;
        borrowPerSecondInterestRateSlopeLow = c.borrowPerYearInterestRateSlopeLow / SECONDS_PER_YEAR;
        borrowPerSecondInterestRateSlopeHigh = c.borrowPerYearInterestRateSlopeHigh / SECONDS_PER_YEAR;
        borrowPerSecondInterestRateBase = c.borrowPerYearInterestRateBase / SECONDS_PER_YEAR;
        baseTrackingSupplySpeed = c.baseTrackingSupplySpeed;
        baseTrackingBorrowSpeed = c.baseTrackingBorrowSpeed;
        baseMinForRewards = c.baseMinForRewards;
        baseBorrowMin = c.baseBorrowMin;
        // Comet's initializeStorage.
        baseSupplyIndex = BASE_INDEX_SCALE;
        baseBorrowIndex = BASE_INDEX_SCALE;
        lastAccrualTime = uint40(block.timestamp);
    }

    // ---- configuration the double sets directly ----

    function addAsset(address asset, address priceFeed) external {
        if (msg.sender != governor) revert NotGovernor();
        uint8 d = IDecimals(asset).decimals();
        assets.push(AssetInfo(uint8(assets.length), asset, priceFeed, uint64(10 ** d), 0, 0, 0, 0));
    }

    function setBaseTrackingSupplySpeed(uint64 speed) external {
        if (msg.sender != governor) revert NotGovernor();
        accrueInternal();
        baseTrackingSupplySpeed = speed;
        emit BaseTrackingSupplySpeedSet(speed);
    }

    // ---- Comet's views ----

    function numAssets() external view returns (uint8) {
        return uint8(assets.length);
    }

    function getAssetInfo(uint8 i) external view returns (AssetInfo memory) {
        if (i >= assets.length) revert BadAsset();
        return assets[i];
    }

    function getAssetInfoByAddress(address asset) external view returns (AssetInfo memory) {
        for (uint256 i = 0; i < assets.length; i++) {
            if (assets[i].asset == asset) return assets[i];
        }
        revert BadAsset();
    }

    function getPrice(address priceFeed) public view returns (uint256) {
        int256 price = IPriceFeedAnswer(priceFeed).latestAnswer();
        if (price <= 0) revert BadAsset();
        return uint256(price);
    }

    function totalsBasic() external view returns (TotalsBasic memory) {
        return TotalsBasic(
            baseSupplyIndex,
            baseBorrowIndex,
            trackingSupplyIndex,
            trackingBorrowIndex,
            totalSupplyBase,
            totalBorrowBase,
            lastAccrualTime,
            0
        );
    }

    function getUtilization() public view returns (uint256) {
        uint256 totalSupply_ = presentValueSupply(baseSupplyIndex, totalSupplyBase);
        uint256 totalBorrow_ = presentValueBorrow(baseBorrowIndex, totalBorrowBase);
        if (totalSupply_ == 0) return 0;
        return totalBorrow_ * FACTOR_SCALE / totalSupply_;
    }

    function getSupplyRate(uint256 utilization) public view returns (uint64) {
        if (utilization <= supplyKink) {
            return uint64(supplyPerSecondInterestRateBase + mulFactor(supplyPerSecondInterestRateSlopeLow, utilization));
        }
        return uint64(
            supplyPerSecondInterestRateBase + mulFactor(supplyPerSecondInterestRateSlopeLow, supplyKink)
                + mulFactor(supplyPerSecondInterestRateSlopeHigh, utilization - supplyKink)
        );
    }

    function getBorrowRate(uint256 utilization) public view returns (uint64) {
        if (utilization <= borrowKink) {
            return uint64(borrowPerSecondInterestRateBase + mulFactor(borrowPerSecondInterestRateSlopeLow, utilization));
        }
        return uint64(
            borrowPerSecondInterestRateBase + mulFactor(borrowPerSecondInterestRateSlopeLow, borrowKink)
                + mulFactor(borrowPerSecondInterestRateSlopeHigh, utilization - borrowKink)
        );
    }

    function totalSupply() external view returns (uint256) {
        (uint64 supplyIndex,) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        return presentValueSupply(supplyIndex, totalSupplyBase);
    }

    function totalBorrow() external view returns (uint256) {
        (, uint64 borrowIndex) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        return presentValueBorrow(borrowIndex, totalBorrowBase);
    }

    function balanceOf(address account) external view returns (uint256) {
        (uint64 supplyIndex,) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        int104 principal = principalOf[account];
        return principal > 0 ? presentValueSupply(supplyIndex, uint104(principal)) : 0;
    }

    function borrowBalanceOf(address account) external view returns (uint256) {
        (, uint64 borrowIndex) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        int104 principal = principalOf[account];
        return principal < 0 ? presentValueBorrow(borrowIndex, uint104(-principal)) : 0;
    }

    // ---- Comet's base operations ----

    function accrueAccount(address) external {
        accrueInternal();
    }

    /// Supplies base (repaying the caller's borrow first), as Comet's `supplyBase`.
    function supply(address asset, uint256 amount) external {
        if (asset != baseToken) revert NotBaseToken(asset);
        accrueInternal();
        SafeTransfer.safeTransferFrom(baseToken, msg.sender, address(this), amount);
        int104 old = principalOf[msg.sender];
        int104 updated = principalValue(presentValue(old) + int256(amount));
        (uint104 repayAmount, uint104 supplyAmount) = repayAndSupplyAmount(old, updated);
        totalSupplyBase += supplyAmount;
        totalBorrowBase -= repayAmount;
        principalOf[msg.sender] = updated;
        emit Supply(msg.sender, msg.sender, amount);
        if (supplyAmount > 0) {
            emit Transfer(address(0), msg.sender, presentValueSupply(baseSupplyIndex, supplyAmount));
        }
    }

    /// Withdraws base, borrowing past the caller's balance, as Comet's `withdrawBase` (without
    /// its collateral check).
    function withdraw(address asset, uint256 amount) external {
        if (asset != baseToken) revert NotBaseToken(asset);
        accrueInternal();
        int104 old = principalOf[msg.sender];
        int256 balance = presentValue(old) - int256(amount);
        int104 updated = principalValue(balance);
        (uint104 withdrawAmount, uint104 borrowAmount) = withdrawAndBorrowAmount(old, updated);
        totalSupplyBase -= withdrawAmount;
        totalBorrowBase += borrowAmount;
        principalOf[msg.sender] = updated;
        if (balance < 0 && uint256(-balance) < baseBorrowMin) revert BorrowTooSmall();
        uint256 available = IDecimals(baseToken).balanceOf(address(this));
        if (available < amount) revert InsufficientLiquidity(available, amount);
        SafeTransfer.safeTransfer(baseToken, msg.sender, amount);
        emit Withdraw(msg.sender, msg.sender, amount);
        if (withdrawAmount > 0) {
            emit Transfer(msg.sender, address(0), presentValueSupply(baseSupplyIndex, withdrawAmount));
        }
    }

    // ---- Comet's arithmetic ----

    function accruedInterestIndices(uint256 timeElapsed) internal view returns (uint64, uint64) {
        uint64 supplyIndex = baseSupplyIndex;
        uint64 borrowIndex = baseBorrowIndex;
        if (timeElapsed > 0) {
            uint256 utilization = getUtilization();
            uint256 supplyRate = getSupplyRate(utilization);
            uint256 borrowRate = getBorrowRate(utilization);
            supplyIndex += uint64(mulFactor(supplyIndex, supplyRate * timeElapsed));
            borrowIndex += uint64(mulFactor(borrowIndex, borrowRate * timeElapsed));
        }
        return (supplyIndex, borrowIndex);
    }

    function accrueInternal() internal {
        uint40 now_ = uint40(block.timestamp);
        uint256 timeElapsed = uint256(now_ - lastAccrualTime);
        if (timeElapsed > 0) {
            (baseSupplyIndex, baseBorrowIndex) = accruedInterestIndices(timeElapsed);
            if (totalSupplyBase >= baseMinForRewards && totalSupplyBase > 0) {
                trackingSupplyIndex += uint64(divBaseWei(baseTrackingSupplySpeed * timeElapsed, totalSupplyBase));
            }
            if (totalBorrowBase >= baseMinForRewards && totalBorrowBase > 0) {
                trackingBorrowIndex += uint64(divBaseWei(baseTrackingBorrowSpeed * timeElapsed, totalBorrowBase));
            }
            lastAccrualTime = now_;
        }
    }

    function mulFactor(uint256 n, uint256 factor) internal pure returns (uint256) {
        return n * factor / FACTOR_SCALE;
    }

    function divBaseWei(uint256 n, uint256 baseWei) internal view returns (uint256) {
        return n * baseScale / baseWei;
    }

    function presentValue(int104 principal) internal view returns (int256) {
        if (principal >= 0) return int256(presentValueSupply(baseSupplyIndex, uint104(principal)));
        return -int256(presentValueBorrow(baseBorrowIndex, uint104(-principal)));
    }

    function presentValueSupply(uint64 index, uint104 principal) internal pure returns (uint256) {
        return uint256(principal) * index / BASE_INDEX_SCALE;
    }

    function presentValueBorrow(uint64 index, uint104 principal) internal pure returns (uint256) {
        return uint256(principal) * index / BASE_INDEX_SCALE;
    }

    function principalValue(int256 value) internal view returns (int104) {
        if (value >= 0) return int104(uint104(uint256(value) * BASE_INDEX_SCALE / baseSupplyIndex));
        return -int104(uint104((uint256(-value) * BASE_INDEX_SCALE + baseBorrowIndex - 1) / baseBorrowIndex));
    }

    function repayAndSupplyAmount(int104 oldPrincipal, int104 newPrincipal) internal pure returns (uint104, uint104) {
        if (newPrincipal < oldPrincipal) return (0, 0);
        if (newPrincipal <= 0) return (uint104(newPrincipal - oldPrincipal), 0);
        if (oldPrincipal >= 0) return (0, uint104(newPrincipal - oldPrincipal));
        return (uint104(-oldPrincipal), uint104(newPrincipal));
    }

    function withdrawAndBorrowAmount(int104 oldPrincipal, int104 newPrincipal) internal pure returns (uint104, uint104) {
        if (newPrincipal > oldPrincipal) return (0, 0);
        if (newPrincipal >= 0) return (uint104(oldPrincipal - newPrincipal), 0);
        if (oldPrincipal <= 0) return (0, uint104(oldPrincipal - newPrincipal));
        return (uint104(oldPrincipal), uint104(-newPrincipal));
    }
}

interface IDecimals {
    function decimals() external view returns (uint8);
    function balanceOf(address account) external view returns (uint256);
}

/// @title CometRewardsDouble
/// @notice A TEST DOUBLE of Compound v3's CometRewards: the per-Comet reward configuration
/// (`rewardConfig`: token, rescale factor, upscale flag and multiplier, as CometRewards has
/// them since its multiplier) and the reward tokens it holds for claims. Claiming is not
/// modelled; an emission runs while the Comet's tracking speed is positive and this contract
/// holds reward tokens to pay it.
contract CometRewardsDouble {
    struct RewardConfig {
        address token;
        uint64 rescaleFactor;
        bool shouldUpscale;
        uint256 multiplier;
    }

    address public immutable governor;
    mapping(address => RewardConfig) public rewardConfig;

    error NotGovernor();

    constructor() {
        governor = msg.sender;
    }

    /// CometRewards' `setRewardConfigWithMultiplier`: Comet's tracking unit is 1e6, the
    /// token's decimals set the rescale; accrued rewards pay × multiplier / 1e18.
    function setRewardConfigWithMultiplier(address comet, address token, uint256 multiplier) external {
        if (msg.sender != governor) revert NotGovernor();
        uint64 accrualScale = 1e6;
        uint64 tokenScale = uint64(10 ** IDecimals(token).decimals());
        if (accrualScale > tokenScale) {
            rewardConfig[comet] = RewardConfig(token, accrualScale / tokenScale, false, multiplier);
        } else {
            rewardConfig[comet] = RewardConfig(token, tokenScale / accrualScale, true, multiplier);
        }
    }
}
