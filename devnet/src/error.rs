//! The one error type of atoll-devnet.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("{tool} not found: {hint}")]
    ToolMissing { tool: &'static str, hint: String },
    #[error("installing {tool} failed: {reason}")]
    InstallFailed { tool: &'static str, reason: String },
    #[error("port {port} ({what}) is already in use; pick other ports with --base-port")]
    PortInUse { port: u16, what: String },
    #[error("no free port range of {len} ports found on 127.0.0.1")]
    NoFreePorts { len: u16 },
    #[error("{name} exited during start-up (status {status}); last lines of {log}:\n{tail}")]
    ProcessExited {
        name: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("{name} did not become ready within {seconds}s; see {log}")]
    NotReady {
        name: String,
        seconds: u64,
        log: PathBuf,
    },
    #[error("a devnet is already running in {dir} ({names}); run `atoll devnet down` first")]
    AlreadyRunning { dir: PathBuf, names: String },
    #[error("no devnet state in {dir}: run `atoll devnet up` first")]
    NotRunning { dir: PathBuf },
    #[error("{artifact}: {reason}")]
    Artifact { artifact: String, reason: String },
    /// A step on a chain (a deployment, a swap, a deposit) that failed.
    #[error("{chain}: {step} failed: {reason}")]
    ChainStep {
        chain: String,
        step: String,
        reason: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
}

impl DevnetError {
    pub(crate) fn io<P: Into<PathBuf>>(
        path: P,
    ) -> impl FnOnce(std::io::Error) -> DevnetError + use<P> {
        let path = path.into();
        move |source| DevnetError::Io { path, source }
    }

    pub(crate) fn step(chain: &str, step: &str) -> Box<dyn FnOnce(String) -> DevnetError + Send> {
        let (chain, step) = (chain.to_string(), step.to_string());
        Box::new(move |reason| DevnetError::ChainStep {
            chain,
            step,
            reason,
        })
    }
}
