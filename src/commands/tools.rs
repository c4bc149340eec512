//! `atoll tools install`: the pinned external tools, into the cache under $ATOLL_HOME.

use atoll_devnet::tools;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ToolsCommand {
    /// Install anvil, solc and the Uniswap artifacts (npm ci), and build solana-test-validator
    /// (agave-validator, 45+ minutes the first time on 2 cores; cached afterwards).
    Install {
        /// Skip solana-test-validator (EVM-only devnets).
        #[arg(long)]
        no_validator: bool,
    },
    /// Print where each tool is, or what is missing.
    Status,
}

pub fn run(cmd: ToolsCommand) -> anyhow::Result<()> {
    match cmd {
        ToolsCommand::Install { no_validator } => {
            let node = tools::install_node_tools()?;
            crate::out!(
                "npm tools: {} (anvil {})",
                node.display(),
                tools::ANVIL_VERSION
            );
            if !no_validator {
                let v = tools::install_validator()?;
                crate::out!("solana-test-validator: {}", v.display());
            }
            Ok(())
        }
        ToolsCommand::Status => {
            match tools::Tools::locate(false) {
                Ok(t) => crate::out!(
                    "anvil: {}\nnode_modules: {}",
                    t.anvil.display(),
                    t.node_modules.display()
                ),
                Err(e) => crate::out!("{e}"),
            }
            match tools::Tools::locate(true) {
                Ok(t) => crate::out!(
                    "solana-test-validator: {}",
                    t.solana_test_validator
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                ),
                Err(e) => crate::out!("{e}"),
            }
            Ok(())
        }
    }
}
