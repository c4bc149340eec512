//! Port choice: fixed ports for the CLI (checked, with a clear error when taken) and free ports
//! for tests, which never use fixed ones.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};

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

/// The first of `len` consecutive free ports, from a random start so parallel tests rarely meet.
pub fn free_range(len: u16) -> Result<u16, DevnetError> {
    let mut rng = rand::rng();
    for _ in 0..200 {
        let base: u16 = rng.random_range(20_000..(60_000 - len));
        if (base..base.saturating_add(len)).all(is_free) {
            return Ok(base);
        }
    }
    Err(DevnetError::NoFreePorts { len })
}
