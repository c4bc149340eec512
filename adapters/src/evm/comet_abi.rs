//! Compound v3's interfaces as the adapter reads them: Comet (the market; its rate curves,
//! totals, indexes and tracking speeds) and CometRewards (the incentive token per Comet),
//! written from the ABIs of compound-finance/comet (`CometMainInterface`, `CometExtInterface`,
//! `CometRewards`). Comet declares its configuration getters `uint` (values that fit 64 bits),
//! hence `uint256` here. Only what is read, plus the base operations the devnet drives.

use alloy::sol;

sol! {
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IComet {
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

        event Supply(address indexed from, address indexed dst, uint256 amount);
        event Withdraw(address indexed src, address indexed to, uint256 amount);
        event Transfer(address indexed from, address indexed to, uint256 amount);
        event AbsorbDebt(address indexed absorber, address indexed borrower, uint256 basePaidOut, uint256 usdValue);

        function baseToken() external view returns (address);
        function baseTokenPriceFeed() external view returns (address);
        function decimals() external view returns (uint8);
        function totalsBasic() external view returns (TotalsBasic memory);
        function totalSupply() external view returns (uint256);
        function totalBorrow() external view returns (uint256);
        function getUtilization() external view returns (uint256);
        function getSupplyRate(uint256 utilization) external view returns (uint64);
        function getBorrowRate(uint256 utilization) external view returns (uint64);
        function getPrice(address priceFeed) external view returns (uint256);
        function getAssetInfoByAddress(address asset) external view returns (AssetInfo memory);
        function supplyKink() external view returns (uint256);
        function supplyPerSecondInterestRateBase() external view returns (uint256);
        function supplyPerSecondInterestRateSlopeLow() external view returns (uint256);
        function supplyPerSecondInterestRateSlopeHigh() external view returns (uint256);
        function borrowKink() external view returns (uint256);
        function borrowPerSecondInterestRateBase() external view returns (uint256);
        function borrowPerSecondInterestRateSlopeLow() external view returns (uint256);
        function borrowPerSecondInterestRateSlopeHigh() external view returns (uint256);
        function baseTrackingSupplySpeed() external view returns (uint256);
        function trackingIndexScale() external view returns (uint256);
        function baseMinForRewards() external view returns (uint256);
        function supply(address asset, uint256 amount) external;
        function withdraw(address asset, uint256 amount) external;
    }

    /// CometRewards as first deployed: three fields per Comet.
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface ICometRewards {
        function rewardConfig(address comet) external view returns (address token, uint64 rescaleFactor, bool shouldUpscale);
    }

    /// CometRewards since its `multiplier` (accrued rewards × multiplier / 1e18).
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface ICometRewardsV2 {
        function rewardConfig(address comet) external view returns (address token, uint64 rescaleFactor, bool shouldUpscale, uint256 multiplier);
    }
}

/// Comet's pause flag offsets in `pauseFlags` (`CometCore`): supply and withdraw.
pub const PAUSE_SUPPLY_OFFSET: u8 = 0;
pub const PAUSE_WITHDRAW_OFFSET: u8 = 2;
