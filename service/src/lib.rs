//! The service assembled, shared by the `atoll` binary and the benchmark harness
//! (`atoll-bench`), so that a benchmark runs exactly what `atoll up` runs:
//! - [`stack::Stack`]: indexer, relayer and API in one process;
//! - [`priority`]: the API's threads below the money path's;
//! - the command-line plumbing both binaries share: [`out!`], [`BadInput`] (exit code 2),
//!   [`StdoutClosed`], [`shutdown_signal`].

pub mod priority;
pub mod stack;

/// `println!` for command output. A closed stdout (`atoll … | head -1`) ends the command
/// quietly instead of panicking, as other Unix tools do.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))?
    };
}

/// Writes one line to stdout; [`StdoutClosed`] when the reader has gone.
pub fn write_stdout(args: std::fmt::Arguments<'_>) -> Result<(), StdoutClosed> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .map_err(|_| StdoutClosed)
}

/// Stdout was closed by the reader: not an error of the command.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// An error the user caused (bad config, bad argument): exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Resolves on Ctrl-C, or on SIGTERM where there is one (what service managers send).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The exit code for a command's result: 0, 2 for [`BadInput`] (printed as is), 1 for the
/// rest (printed with its context); a closed stdout is success.
pub fn exit_code(result: anyhow::Result<()>) -> std::process::ExitCode {
    use std::process::ExitCode;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<StdoutClosed>().is_some() => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<BadInput>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
