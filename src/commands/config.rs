//! `atoll config check FILE`: every problem in a config, each with its key path; exit code 2.

use std::path::{Path, PathBuf};

use anyhow::Context;
use atoll_core::settings::{ConfigProblem, Settings, base_dir_of};
use atoll_core::{ChainKind, SecretRef};
use clap::Subcommand;

use crate::BadInput;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Parse FILE with ATOLL_* overrides, check every value and that every key reference resolves.
    Check { file: PathBuf },
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Check { file } => {
            let settings = load(&file)?;
            let problems = secret_problems(&settings);
            if !problems.is_empty() {
                let text = problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(BadInput(format!(
                    "{}: {} problem(s)\n{text}",
                    file.display(),
                    problems.len()
                ))
                .into());
            }
            crate::out!(
                "{}: ok ({} chains, {} tokens, {} pools, {} factories)",
                file.display(),
                settings.chains.len(),
                settings.tokens.len(),
                settings.pools.len(),
                settings.factories.len()
            );
            Ok(())
        }
    }
}

/// Reads and parses a config file; problems are `BadInput`.
pub fn load(file: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read config {}", file.display()))?;
    Settings::parse(&text, std::env::vars(), &base_dir_of(file)).map_err(|errs| {
        let n = errs.0.len();
        BadInput(format!("{}: {n} problem(s)\n{errs}", file.display())).into()
    })
}

pub use atoll_service::stack::open_store;

/// Every key reference must resolve to a key of the right kind; values are never printed.
fn secret_problems(settings: &Settings) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (i, c) in settings.chains.iter().enumerate() {
        for (field, reference) in [
            ("relayer_key", &c.relayer_key),
            ("treasury_key", &c.treasury_key),
        ] {
            let Some(reference) = reference else { continue };
            let result = match c.kind {
                ChainKind::Evm => atoll_adapters::secrets::evm_signer(reference).map(|_| ()),
                ChainKind::Solana => atoll_adapters::secrets::solana_keypair(reference).map(|_| ()),
            };
            if let Err(e) = result {
                problems.push(ConfigProblem {
                    path: format!("chains[{i}].{field}"),
                    message: e.to_string(),
                });
            }
        }
    }
    for (i, token) in settings.api.operator_tokens.iter().enumerate() {
        // An operator token is only checked for presence; an unset env var is fine on machines
        // that do not serve mutations, but a missing file is a typo.
        if let SecretRef::File(_) = token
            && let Err(e) = atoll_adapters::secrets::load(token)
        {
            problems.push(ConfigProblem {
                path: format!("api.operator_tokens[{i}]"),
                message: e.to_string(),
            });
        }
    }
    problems
}
