//! The record of a running devnet, `<dir>/state.json`: what the nodes are and what is deployed
//! on them. Written by [`crate::network`] when a devnet starts; read by the config writer
//! ([`crate::config`]), the traffic generator and every command that finds a devnet by its
//! folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DevnetError;
use crate::evm::EvmDeployment;
use crate::solana::{SolanaDeployment, ValidatorPorts};

/// What a running devnet is, as recorded in `<dir>/state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevnetState {
    pub evm: Vec<EvmDeployment>,
    pub solana: Option<SolanaDeployment>,
    pub solana_ports: Option<ValidatorPorts>,
    pub config_path: PathBuf,
}

impl DevnetState {
    pub fn load(dir: &Path) -> Result<DevnetState, DevnetError> {
        let path = dir.join("state.json");
        let text = std::fs::read_to_string(&path).map_err(|_| DevnetError::NotRunning {
            dir: dir.to_path_buf(),
        })?;
        serde_json::from_str(&text)
            .map_err(|e| DevnetError::Config(format!("{}: {e}", path.display())))
    }

    pub fn evm_chain(&self, name: &str) -> Option<&EvmDeployment> {
        self.evm.iter().find(|c| c.name == name)
    }
}
