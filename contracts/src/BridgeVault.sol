// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20Minimal, SafeTransfer} from "./SafeTransfer.sol";

/// @title BridgeVault
/// @notice Atoll's lock-and-release bridge vault. Users `deposit` tokens bound for another chain;
/// the relayer `release`s the matching amount (minus its fee) from the vault on the destination.
/// @dev Exactly-once is enforced here as the last line of defence: `processed[id]` is set before any
/// token leaves the vault, `release` reverts on a processed id and `releaseBatch` skips it.
contract BridgeVault {
    using SafeTransfer for address;

    struct Release {
        bytes32 id;
        address token;
        address recipient;
        uint256 amount;
    }

    address public owner;
    bool public paused;
    /// @notice Count of deposits made into this vault; the nonce of the latest deposit.
    uint64 public depositNonce;
    mapping(address => bool) public isRelayer;
    mapping(bytes32 => bool) public processed;

    event TransferInitiated(
        bytes32 indexed id,
        address indexed token,
        address indexed sender,
        uint256 amount,
        uint64 dstChainId,
        bytes32 recipient,
        uint64 nonce
    );
    event TransferReleased(bytes32 indexed id, address indexed token, address indexed recipient, uint256 amount);
    /// @notice A batch entry whose id was already processed: skipped, nothing paid.
    event ReleaseSkipped(bytes32 indexed id);
    /// @notice A batch entry whose payout failed (e.g. not enough liquidity): not marked processed.
    event ReleaseFailed(bytes32 indexed id, address indexed token, address indexed recipient, uint256 amount);
    event RelayerUpdated(address indexed relayer, bool allowed);
    event Paused(address indexed by);
    event Unpaused(address indexed by);
    event LiquidityAdded(address indexed token, address indexed from, uint256 amount);
    event LiquidityWithdrawn(address indexed token, address indexed to, uint256 amount);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner();
    error NotRelayer();
    error VaultPaused();
    error ZeroAmount();
    error ZeroAddress();
    error ZeroRecipient();
    error SameChain(uint64 dstChainId);
    error AlreadyProcessed(bytes32 id);
    error AmountMismatch(uint256 expected, uint256 received);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    modifier onlyRelayer() {
        if (!isRelayer[msg.sender]) revert NotRelayer();
        _;
    }

    modifier whenNotPaused() {
        if (paused) revert VaultPaused();
        _;
    }

    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert ZeroAddress();
        owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }

    // ----------------------------------------------------------------------------------------
    // Users
    // ----------------------------------------------------------------------------------------

    /// @notice Locks `amount` of `token` here for release to `recipient` on chain `dstChainId`.
    /// @return id The transfer id: keccak256(chain id, this vault, nonce).
    function deposit(address token, uint256 amount, uint64 dstChainId, bytes32 recipient)
        external
        whenNotPaused
        returns (bytes32 id)
    {
        if (amount == 0) revert ZeroAmount();
        if (recipient == bytes32(0)) revert ZeroRecipient();
        if (dstChainId == block.chainid) revert SameChain(dstChainId);

        // Fee-on-transfer or rebasing tokens would make the released amount exceed what was locked.
        uint256 before = IERC20Minimal(token).balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20Minimal(token).balanceOf(address(this)) - before;
        if (received != amount) revert AmountMismatch(amount, received);

        uint64 nonce = ++depositNonce;
        id = transferId(nonce);
        emit TransferInitiated(id, token, msg.sender, amount, dstChainId, recipient, nonce);
    }

    /// @notice The id a deposit with `nonce` gets on this vault and chain.
    function transferId(uint64 nonce) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), nonce));
    }

    // ----------------------------------------------------------------------------------------
    // Relayer
    // ----------------------------------------------------------------------------------------

    /// @notice Pays out one transfer. Reverts when `id` was already processed.
    function release(bytes32 id, address token, address recipient, uint256 amount)
        external
        onlyRelayer
        whenNotPaused
    {
        if (processed[id]) revert AlreadyProcessed(id);
        if (recipient == address(0)) revert ZeroAddress();
        processed[id] = true;
        token.safeTransfer(recipient, amount);
        emit TransferReleased(id, token, recipient, amount);
    }

    /// @notice Pays out many transfers. An id already processed (before or earlier in this batch)
    /// is skipped with `ReleaseSkipped`; a payout that fails is left unprocessed with
    /// `ReleaseFailed`. Neither reverts the rest of the batch.
    /// @return released How many entries were paid out.
    function releaseBatch(Release[] calldata releases)
        external
        onlyRelayer
        whenNotPaused
        returns (uint256 released)
    {
        uint256 n = releases.length;
        for (uint256 i = 0; i < n; ++i) {
            Release calldata r = releases[i];
            if (processed[r.id]) {
                emit ReleaseSkipped(r.id);
                continue;
            }
            processed[r.id] = true;
            if (r.recipient != address(0) && r.token.trySafeTransfer(r.recipient, r.amount)) {
                emit TransferReleased(r.id, r.token, r.recipient, r.amount);
                ++released;
            } else {
                processed[r.id] = false;
                emit ReleaseFailed(r.id, r.token, r.recipient, r.amount);
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Owner
    // ----------------------------------------------------------------------------------------

    function setRelayer(address relayer, bool allowed) external onlyOwner {
        if (relayer == address(0)) revert ZeroAddress();
        isRelayer[relayer] = allowed;
        emit RelayerUpdated(relayer, allowed);
    }

    function pause() external onlyOwner {
        paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyOwner {
        paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice Adds release liquidity. Deliberately not a deposit: it creates no transfer.
    function addLiquidity(address token, uint256 amount) external onlyOwner {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit LiquidityAdded(token, msg.sender, amount);
    }

    function withdrawLiquidity(address token, address to, uint256 amount) external onlyOwner {
        if (to == address(0)) revert ZeroAddress();
        token.safeTransfer(to, amount);
        emit LiquidityWithdrawn(token, to, amount);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
