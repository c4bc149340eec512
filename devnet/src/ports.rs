//! Port choice: fixed ports for the CLI (checked, with a clear error when taken) and free ports
//! for tests, which never use fixed ones.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::{Mutex, OnceLock};

use rand::Rng;

use crate::DevnetError;

/// Whether both TCP and UDP on `port` can be bound on loopback right now.
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        && UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

pub fn ensure_free(port: u16, what: &str) -> Result<(), DevnetError> {
    if is_free(port) {
        Ok(())
    } else {
        Err(DevnetError::PortInUse {
            port,
            what: what.to_string(),
        })
    }
}

/// Ports this process has handed out. A port is free to bind until the node binds it, so two
/// devnets starting at once in one process (parallel tests) could otherwise pick the same one,
/// and the second would talk to the first's node.
fn claimed() -> &'static Mutex<HashSet<u16>> {
    static CLAIMED: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    CLAIMED.get_or_init(|| Mutex::new(HashSet::new()))
}

/// The first port the kernel hands out on its own (for `bind(0)` and outgoing connections).
/// A port chosen for a node must lie below it: between our check and the node's bind, the
/// kernel could give a port in its range to any socket of this machine (found as an "Address
/// already in use" from anvil while the test's own HTTP clients were connecting).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// The first of `len` consecutive free ports, claimed for this process, from a random start
/// so parallel test processes rarely meet, below the kernel's ephemeral range.
pub fn free_range(len: u16) -> Result<u16, DevnetError> {
    let mut rng = rand::rng();
    let mut claimed = claimed()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let top = ephemeral_start().clamp(12_000, 60_000).saturating_sub(len);
    for _ in 0..200 {
        let base: u16 = rng.random_range(10_000..top);
        let range = base..base.saturating_add(len);
        if range.clone().all(|p| !claimed.contains(&p) && is_free(p)) {
            claimed.extend(range);
            return Ok(base);
        }
    }
    Err(DevnetError::NoFreePorts { len })
}
