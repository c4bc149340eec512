//! The treasury's side of the bridge on an EVM chain: its token allowance to the vault, and
//! `BridgeVault.deposit` transactions simulated (`eth_call`), gas-estimated and signed offline,
//! so the caller persists the bytes before sending them with [`EvmChain::send_raw`].

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;

use super::EvmChain;
use super::abi::{BridgeVault, IERC20};
use super::releases::{GasFees, SignedReleaseTx};
use crate::AdapterError;

/// A deposit into the vault, bound for `dst_chain_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvmDeposit {
    pub vault: Address,
    pub token: Address,
    pub amount: U256,
    pub dst_chain_id: u64,
    pub recipient: B256,
}

impl EvmChain {
    /// `token.allowance(owner, spender)`.
    pub async fn allowance(
        &self,
        token: Address,
        owner: Address,
        spender: Address,
    ) -> Result<U256, AdapterError> {
        self.view(token, IERC20::allowanceCall { owner, spender }, "allowance")
            .await
    }

    /// Signs `token.approve(spender, max)` offline.
    pub async fn sign_approve(
        &self,
        signer: &PrivateKeySigner,
        token: Address,
        spender: Address,
        nonce: u64,
        fees: GasFees,
    ) -> Result<SignedReleaseTx, AdapterError> {
        let tx = TransactionRequest::default()
            .with_from(signer.address())
            .with_to(token)
            .with_input(Bytes::from(
                IERC20::approveCall {
                    spender,
                    amount: U256::MAX,
                }
                .abi_encode(),
            ));
        self.sign(signer, tx, nonce, 100_000, fees).await
    }

    /// Simulates the deposit as `signer` (a revert, e.g. a token the vault does not accept, is
    /// `RpcRejected` with the node's reason), estimates its gas and signs it offline.
    pub async fn sign_deposit(
        &self,
        signer: &PrivateKeySigner,
        deposit: &EvmDeposit,
        nonce: u64,
        fees: GasFees,
    ) -> Result<SignedReleaseTx, AdapterError> {
        let tx = TransactionRequest::default()
            .with_from(signer.address())
            .with_to(deposit.vault)
            .with_input(Bytes::from(
                BridgeVault::depositCall {
                    token: deposit.token,
                    amount: deposit.amount,
                    dstChainId: deposit.dst_chain_id,
                    recipient: deposit.recipient,
                }
                .abi_encode(),
            ));
        self.rpc
            .call("eth_call", |p| {
                let tx = tx.clone();
                async move { p.call(tx).await }
            })
            .await?;
        let gas = self
            .rpc
            .call("eth_estimateGas", |p| {
                let tx = tx.clone();
                async move { p.estimate_gas(tx).await }
            })
            .await?;
        // A fifth over the estimate: storage the vault writes may cost more once others' deposits land first.
        self.sign(signer, tx, nonce, gas.saturating_mul(6) / 5, fees)
            .await
    }

    /// Whether a mined transaction succeeded; `None` while it is not mined.
    pub async fn transaction_succeeded(&self, hash: B256) -> Result<Option<bool>, AdapterError> {
        let receipt = self
            .rpc
            .call("eth_getTransactionReceipt", move |p| async move {
                p.get_transaction_receipt(hash).await
            })
            .await?;
        Ok(receipt
            .filter(|r| r.block_number.is_some())
            .map(|r| r.status()))
    }
}
