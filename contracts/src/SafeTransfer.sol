// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

interface IERC20Minimal {
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @notice ERC20 transfers that accept tokens returning nothing (USDT) and reject tokens that
/// return false, revert, or are not contracts at all (SafeERC20-style checks).
library SafeTransfer {
    error TransferFailed(address token, address to, uint256 amount);
    error TransferFromFailed(address token, address from, address to, uint256 amount);

    function safeTransfer(address token, address to, uint256 amount) internal {
        if (!trySafeTransfer(token, to, amount)) revert TransferFailed(token, to, amount);
    }

    function trySafeTransfer(address token, address to, uint256 amount) internal returns (bool) {
        if (token.code.length == 0) return false;
        (bool ok, bytes memory ret) = token.call(abi.encodeCall(IERC20Minimal.transfer, (to, amount)));
        return _succeeded(ok, ret);
    }

    function safeTransferFrom(address token, address from, address to, uint256 amount) internal {
        bool success = token.code.length != 0;
        if (success) {
            (bool ok, bytes memory ret) =
                token.call(abi.encodeCall(IERC20Minimal.transferFrom, (from, to, amount)));
            success = _succeeded(ok, ret);
        }
        if (!success) revert TransferFromFailed(token, from, to, amount);
    }

    function _succeeded(bool ok, bytes memory ret) private pure returns (bool) {
        return ok && (ret.length == 0 || (ret.length == 32 && abi.decode(ret, (bool))));
    }
}
