//! Aave v3's interfaces as the adapter reads them (the Pool, its addresses provider, oracle,
//! interest-rate strategy, the reserve's tokens and the incentives' RewardsController), written
//! from the ABIs of `@aave/core-v3` 1.19.3 and `@aave/periphery-v3` 2.5.2. Only what is read or what the devnet drives; the devnet's deploy-only calls
//! (configurator, ACL) live in `atoll-devnet`.

use alloy::sol;

sol! {
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAavePoolAddressesProvider {
        function getPool() external view returns (address);
        function getPoolConfigurator() external view returns (address);
        function getPriceOracle() external view returns (address);
        function getACLManager() external view returns (address);
        function setACLAdmin(address newAclAdmin) external;
        function setACLManager(address newAclManager) external;
        function setPriceOracle(address newPriceOracle) external;
        function setPoolImpl(address newPoolImpl) external;
        function setPoolConfiguratorImpl(address newPoolConfiguratorImpl) external;
    }

    /// `ReserveConfigurationMap`'s single word: LTV bits 0–15, liquidation threshold 16–31,
    /// bonus 32–47, decimals 48–55, flags 56–63, reserve factor 64–79, borrow cap 80–115,
    /// supply cap 116–151 (whole tokens).
    #[derive(Debug)]
    struct ReserveConfigurationMap {
        uint256 data;
    }

    #[derive(Debug)]
    struct ReserveData {
        ReserveConfigurationMap configuration;
        uint128 liquidityIndex;
        uint128 currentLiquidityRate;
        uint128 variableBorrowIndex;
        uint128 currentVariableBorrowRate;
        uint128 currentStableBorrowRate;
        uint40 lastUpdateTimestamp;
        uint16 id;
        address aTokenAddress;
        address stableDebtTokenAddress;
        address variableDebtTokenAddress;
        address interestRateStrategyAddress;
        uint128 accruedToTreasury;
        uint128 unbacked;
        uint128 isolationModeTotalDebt;
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAavePool {
        function getReservesList() external view returns (address[] memory);
        function getReserveData(address asset) external view returns (ReserveData memory);
        function getReserveNormalizedIncome(address asset) external view returns (uint256);
        function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
        function withdraw(address asset, uint256 amount, address to) external returns (uint256);
        function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf) external;
        function repay(address asset, uint256 amount, uint256 interestRateMode, address onBehalfOf) external returns (uint256);
        event ReserveDataUpdated(address indexed reserve, uint256 liquidityRate, uint256 stableBorrowRate, uint256 variableBorrowRate, uint256 liquidityIndex, uint256 variableBorrowIndex);
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAaveOracle {
        function getAssetPrice(address asset) external view returns (uint256);
        function BASE_CURRENCY_UNIT() external view returns (uint256);
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAaveRateStrategy {
        function OPTIMAL_USAGE_RATIO() external view returns (uint256);
        function getBaseVariableBorrowRate() external view returns (uint256);
        function getVariableRateSlope1() external view returns (uint256);
        function getVariableRateSlope2() external view returns (uint256);
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAaveScaledToken {
        function totalSupply() external view returns (uint256);
        function scaledTotalSupply() external view returns (uint256);
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAaveStableDebtToken {
        function totalSupply() external view returns (uint256);
        function getAverageStableRate() external view returns (uint256);
    }

    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAaveIncentivized {
        function getIncentivesController() external view returns (address);
    }

    #[derive(Debug)]
    struct RewardsConfigInput {
        uint88 emissionPerSecond;
        uint256 totalSupply;
        uint32 distributionEnd;
        address asset;
        address reward;
        address transferStrategy;
        address rewardOracle;
    }

    /// Aave's `RewardsController`: `getRewardsData` answers (index, emission per second, last
    /// update, distribution end).
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IAaveRewardsController {
        function getRewardsByAsset(address asset) external view returns (address[] memory);
        function getRewardsData(address asset, address reward) external view returns (uint256, uint256, uint256, uint256);
        function getRewardOracle(address reward) external view returns (address);
        function configureAssets(RewardsConfigInput[] config) external;
    }

    /// A Chainlink-style price feed (Aave's reward oracles: USD, 8 decimals).
    #[sol(rpc)]
    #[derive(Debug)]
    #[allow(missing_docs)]
    interface IPriceFeed {
        function latestAnswer() external view returns (int256);
    }
}
