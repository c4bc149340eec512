//! The devnet's node processes: started detached with their output in `logs/`, recorded in
//! `pids/<name>.pid` (pid and program), and stopped from those records, so `down` stops exactly
//! what `up` started and nothing else, even from another shell.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::DevnetError;

/// coreutils' `nice`, on every Linux system this runs on.
const NICE: &str = "nice";

/// One node process this devnet started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeProcess {
    pub name: String,
    pub pid: u32,
    pub program: PathBuf,
    pub log: PathBuf,
}

pub fn pids_dir(dir: &Path) -> PathBuf {
    dir.join("pids")
}

pub fn logs_dir(dir: &Path) -> PathBuf {
    dir.join("logs")
}

/// Starts `program` with `envs` added to its environment, in its own process group (a Ctrl-C
/// in the terminal that ran `up` does not reach it), output to `logs/<name>.log`, and records
/// its pid file. With `niceness` it runs at that nice value: coreutils' `nice` sets it and
/// then becomes `program` (same pid, same command line), so the pid file still names it.
pub fn spawn(
    dir: &Path,
    name: &str,
    program: &Path,
    args: &[String],
    envs: &[(&str, &str)],
    niceness: Option<u8>,
) -> Result<(NodeProcess, Child), DevnetError> {
    let logs = logs_dir(dir);
    let pids = pids_dir(dir);
    std::fs::create_dir_all(&logs).map_err(DevnetError::io(&logs))?;
    std::fs::create_dir_all(&pids).map_err(DevnetError::io(&pids))?;
    let log_path = logs.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path).map_err(DevnetError::io(&log_path))?;
    let log_err = log.try_clone().map_err(DevnetError::io(&log_path))?;
    let (mut command, launcher) = match niceness {
        Some(n) => {
            let mut c = Command::new(NICE);
            c.arg("-n").arg(n.to_string()).arg(program);
            (c, Path::new(NICE))
        }
        None => (Command::new(program), program),
    };
    let child = command
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(DevnetError::io(launcher))?;
    let proc = NodeProcess {
        name: name.to_string(),
        pid: child.id(),
        program: program.to_path_buf(),
        log: log_path,
    };
    let pid_file = pids.join(format!("{name}.pid"));
    std::fs::write(&pid_file, format!("{}\n{}\n", proc.pid, program.display()))
        .map_err(DevnetError::io(&pid_file))?;
    Ok((proc, child))
}

/// The processes recorded in `dir`'s pid files (running or not).
pub fn recorded(dir: &Path) -> Vec<NodeProcess> {
    let Ok(entries) = std::fs::read_dir(pids_dir(dir)) else {
        return Vec::new();
    };
    let mut out: Vec<NodeProcess> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_stem()?.to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).ok()?;
            let mut lines = text.lines();
            let pid = lines.next()?.trim().parse().ok()?;
            let program = PathBuf::from(lines.next()?.trim());
            Some(NodeProcess {
                log: logs_dir(dir).join(format!("{name}.log")),
                name,
                pid,
                program,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Whether `proc` is alive *and* still the program we started (a recycled pid is not ours).
pub fn is_ours_and_alive(proc: &NodeProcess) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", proc.pid)).unwrap_or_default();
    // Field 3 is the state; a zombie has exited and only waits to be reaped.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if state.is_none() || state == Some("Z") {
        return false;
    }
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", proc.pid)).unwrap_or_default();
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    let program_name = proc
        .program
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    String::from_utf8_lossy(argv0).ends_with(&program_name)
}

/// What `stop` did with one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped,
    Killed,
    NotRunning,
}

/// Stops every recorded process: SIGTERM, then SIGKILL after `grace`; removes the pid files.
pub fn stop_all(dir: &Path, grace: Duration) -> Vec<(NodeProcess, StopOutcome)> {
    let procs: Vec<(NodeProcess, bool)> = recorded(dir)
        .into_iter()
        .map(|p| {
            let alive = is_ours_and_alive(&p);
            (p, alive)
        })
        .collect();
    for (p, alive) in &procs {
        if *alive {
            let _ = kill(pid_of(p), Signal::SIGTERM);
        }
    }
    let mut results = Vec::new();
    for (p, was_alive) in procs {
        let outcome = if !was_alive {
            StopOutcome::NotRunning
        } else if wait_until_gone(&p, grace) {
            StopOutcome::Stopped
        } else {
            let _ = kill(pid_of(&p), Signal::SIGKILL);
            wait_until_gone(&p, Duration::from_secs(5));
            StopOutcome::Killed
        };
        let _ = std::fs::remove_file(pids_dir(dir).join(format!("{}.pid", p.name)));
        results.push((p, outcome));
    }
    results
}

fn pid_of(p: &NodeProcess) -> Pid {
    Pid::from_raw(i32::try_from(p.pid).unwrap_or(i32::MAX))
}

fn wait_until_gone(p: &NodeProcess, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !is_ours_and_alive(p) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !is_ours_and_alive(p)
}

/// The last `n` lines of a log, for error messages.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field 19 of `/proc/<pid>/stat`: the nice value.
    fn nice_of(pid: u32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        let (_, rest) = stat.rsplit_once(')').expect("comm");
        rest.split_whitespace()
            .nth(16)
            .and_then(|n| n.parse().ok())
            .expect("nice field")
    }

    #[test]
    fn a_niced_process_runs_at_that_priority_and_is_still_recognised_as_ours() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sleep = PathBuf::from("/bin/sleep");
        let (niced, mut niced_child) =
            spawn(dir.path(), "niced", &sleep, &["30".into()], &[], Some(7)).expect("spawn niced");
        let (plain, mut plain_child) =
            spawn(dir.path(), "plain", &sleep, &["30".into()], &[], None).expect("spawn plain");
        // `nice` execs the program: wait until each pid shows it (a loaded machine can show a
        // fresh pid's command line late), not `nice`.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(is_ours_and_alive(&niced) && is_ours_and_alive(&plain)) && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(is_ours_and_alive(&niced), "the niced pid runs sleep");
        assert!(is_ours_and_alive(&plain));
        let base = nice_of(plain.pid);
        assert_eq!(nice_of(niced.pid), (base + 7).min(19));
        assert_eq!(recorded(dir.path()).len(), 2);
        let stopped = stop_all(dir.path(), Duration::from_secs(5));
        assert!(
            stopped.iter().all(|(_, o)| *o == StopOutcome::Stopped),
            "{stopped:?}"
        );
        let _ = niced_child.wait();
        let _ = plain_child.wait();
    }
}
