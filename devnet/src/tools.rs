//! Finds and installs the external tools the devnet runs, each pinned to an exact version:
//! anvil, solcjs and the Uniswap artifacts (npm packages, one `npm ci` into a cache keyed by the
//! lockfile's hash) and solana-test-validator (`cargo install agave-validator`, built once).
//!
//! Everything lives under `$ATOLL_HOME` (default `~/.cache/atoll`), so the `atoll` binary works
//! from any directory and repeated runs never rebuild what is already there.

use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::DevnetError;

pub const ANVIL_VERSION: &str = "1.7.1";
pub const AGAVE_VERSION: &str = "3.1.12";
/// Oldest solana-test-validator major version accepted from PATH.
const MIN_VALIDATOR_MAJOR: u64 = 2;
/// Crates compiled by `cargo install agave-validator` (for the progress estimate only).
const AGAVE_CRATE_ESTIMATE: u64 = 900;

const PACKAGE_JSON: &str = include_str!("../../tools/package.json");
const PACKAGE_LOCK: &str = include_str!("../../tools/package-lock.json");

/// `$ATOLL_HOME`, else `$HOME/.cache/atoll`.
pub fn atoll_home() -> Result<PathBuf, DevnetError> {
    if let Some(h) = std::env::var_os("ATOLL_HOME") {
        return Ok(PathBuf::from(h));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache").join("atoll"))
        .ok_or_else(|| DevnetError::Config("neither ATOLL_HOME nor HOME is set".into()))
}

/// Where the pinned npm packages are installed: one folder per lockfile content.
pub fn node_tools_dir() -> Result<PathBuf, DevnetError> {
    let hash = hex::encode(Sha256::digest(PACKAGE_LOCK.as_bytes()));
    Ok(atoll_home()?.join("node").join(&hash[..16]))
}

fn validator_root() -> Result<PathBuf, DevnetError> {
    Ok(atoll_home()?
        .join("tools")
        .join(format!("agave-{AGAVE_VERSION}")))
}

/// Paths of the tools a devnet needs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub anvil: PathBuf,
    /// The `node_modules` folder holding solc and the Uniswap packages.
    pub node_modules: PathBuf,
    /// `None` when only EVM chains were asked for.
    pub solana_test_validator: Option<PathBuf>,
}

impl Tools {
    /// Finds installed tools; an error names the missing one and how to install it.
    pub fn locate(need_solana: bool) -> Result<Tools, DevnetError> {
        let node_modules = node_tools_dir()?.join("node_modules");
        let anvil = node_modules.join("@foundry-rs/anvil-linux-amd64/bin/anvil");
        if !anvil.is_file()
            || !node_modules.join("@uniswap/v3-core/package.json").is_file()
            || !node_modules.join("@aave/core-v3/package.json").is_file()
            || !node_modules
                .join("@aave/periphery-v3/package.json")
                .is_file()
        {
            return Err(DevnetError::ToolMissing {
                tool: "anvil and the Uniswap and Aave artifacts (npm)",
                hint: format!(
                    "expected in {}; run `atoll tools install` (needs Node.js and npm)",
                    node_modules.display()
                ),
            });
        }
        let solana_test_validator = if need_solana {
            Some(locate_validator()?)
        } else {
            None
        };
        Ok(Tools {
            anvil,
            node_modules,
            solana_test_validator,
        })
    }
}

fn locate_validator() -> Result<PathBuf, DevnetError> {
    if let Some(p) = std::env::var_os("ATOLL_SOLANA_TEST_VALIDATOR") {
        return Ok(PathBuf::from(p));
    }
    let cached = validator_root()?.join("bin").join("solana-test-validator");
    if cached.is_file() {
        return Ok(cached);
    }
    if let Some(on_path) = validator_on_path() {
        return Ok(on_path);
    }
    Err(DevnetError::ToolMissing {
        tool: "solana-test-validator",
        hint: format!(
            "not in {} nor a compatible one (>= {MIN_VALIDATOR_MAJOR}.0) on PATH; run `atoll tools install` \
             (builds agave-validator {AGAVE_VERSION} with cargo, 45+ minutes on 2 cores, needs Debian's libclang-dev, \
             protobuf-compiler and libudev-dev), or install Anza's release and put it on PATH",
            cached.display()
        ),
    })
}

/// A `solana-test-validator` on PATH whose version is compatible, as Anza's installer leaves it.
fn validator_on_path() -> Option<PathBuf> {
    let out = Command::new("solana-test-validator")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "solana-test-validator 3.1.12 (src:…; feat:…, client:Agave)"
    let version = text.split_whitespace().nth(1)?;
    let major: u64 = version.split('.').next()?.parse().ok()?;
    if major < MIN_VALIDATOR_MAJOR {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("solana-test-validator"))
        .find(|p| p.is_file())
}

/// Installs the pinned npm packages (anvil, solc, Uniswap artifacts) unless already there.
pub fn install_node_tools() -> Result<PathBuf, DevnetError> {
    let dir = node_tools_dir()?;
    let marker = dir.join(".installed");
    if marker.is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(DevnetError::io(&dir))?;
    std::fs::write(dir.join("package.json"), PACKAGE_JSON)
        .map_err(DevnetError::io(dir.join("package.json")))?;
    std::fs::write(dir.join("package-lock.json"), PACKAGE_LOCK)
        .map_err(DevnetError::io(dir.join("package-lock.json")))?;
    eprintln!(
        "installing anvil {ANVIL_VERSION}, solc and Uniswap artifacts into {} (npm ci)",
        dir.display()
    );
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .map_err(|e| DevnetError::ToolMissing {
            tool: "npm",
            hint: format!("{e}; install Node.js 20+ with npm"),
        })?;
    if !status.success() {
        return Err(DevnetError::InstallFailed {
            tool: "npm packages",
            reason: format!("npm ci exited with {status}"),
        });
    }
    std::fs::write(&marker, ANVIL_VERSION).map_err(DevnetError::io(&marker))?;
    Ok(dir)
}

/// Builds solana-test-validator from the pinned `agave-validator` crate into the cache, unless a
/// usable one exists. Shows progress; the first build takes 45 minutes or more on 2 cores.
pub fn install_validator() -> Result<PathBuf, DevnetError> {
    if let Ok(p) = locate_validator() {
        return Ok(p);
    }
    check_build_prerequisites()?;
    let root = validator_root()?;
    let target = atoll_home()?.join("agave-build");
    eprintln!(
        "building solana-test-validator (agave-validator {AGAVE_VERSION}) into {}: the first build takes 45 minutes \
         or more on 2 cores; it is cached and never rebuilt",
        root.display()
    );
    let mut child = Command::new("cargo")
        .args([
            "install",
            "agave-validator",
            "--version",
            &format!("={AGAVE_VERSION}"),
            "--locked",
            "--root",
        ])
        .arg(&root)
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| DevnetError::ToolMissing {
            tool: "cargo",
            hint: e.to_string(),
        })?;
    let mut tail: Vec<String> = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        report_build_progress(BufReader::new(stderr), &mut tail);
    }
    let status = child.wait().map_err(|e| DevnetError::InstallFailed {
        tool: "agave-validator",
        reason: e.to_string(),
    })?;
    if !status.success() {
        return Err(DevnetError::InstallFailed {
            tool: "agave-validator",
            reason: format!("cargo install exited with {status}:\n{}", tail.join("\n")),
        });
    }
    locate_validator()
}

fn report_build_progress(stderr: impl BufRead, tail: &mut Vec<String>) {
    let interactive = std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::new(AGAVE_CRATE_ESTIMATE);
    if interactive {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "[{elapsed_precise}] {bar:40} {pos}/~{len} crates {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut compiled = 0u64;
    for line in stderr.lines().map_while(Result::ok) {
        if let Some(krate) = line.trim_start().strip_prefix("Compiling ") {
            compiled = compiled.saturating_add(1);
            bar.set_position(compiled.min(AGAVE_CRATE_ESTIMATE));
            bar.set_message(krate.to_string());
            if !interactive && compiled.is_multiple_of(50) {
                eprintln!(
                    "[agave-validator build] {compiled} of ~{AGAVE_CRATE_ESTIMATE} crates compiled ({krate})"
                );
            }
        }
        tail.push(line);
        if tail.len() > 40 {
            tail.remove(0);
        }
    }
    bar.finish_and_clear();
}

fn check_build_prerequisites() -> Result<(), DevnetError> {
    let has_libclang = ["/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/local/lib"]
        .iter()
        .any(|d| {
            std::fs::read_dir(d).ok().is_some_and(|entries| {
                entries.filter_map(Result::ok).any(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    name.starts_with("llvm-")
                        && Path::new(d).join(&name).join("lib/libclang.so").exists()
                        || name.starts_with("libclang") && name.contains(".so")
                })
            })
        });
    if !has_libclang {
        return Err(DevnetError::ToolMissing {
            tool: "libclang",
            hint: "building agave-validator needs it: apt-get install libclang-dev protobuf-compiler libudev-dev".into(),
        });
    }
    if Command::new("protoc").arg("--version").output().is_err() {
        return Err(DevnetError::ToolMissing {
            tool: "protoc",
            hint: "building agave-validator needs it: apt-get install protobuf-compiler".into(),
        });
    }
    Ok(())
}
