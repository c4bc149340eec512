//! atoll-router: where capital should sit and how to move it there. Pure: plain data in, plain
//! data out, no async, no I/O (docs/router.md, "Model").
//!
//! - [`model`]: one pool's fee-share yield;
//! - [`lending`]: one lending reserve's supply yield under a kinked rate curve;
//! - [`demand`]: one chain's demand for capital, exact after one sort;
//! - [`transport`]: the cross-chain optimum with per-dollar bridge costs and chain caps;
//! - [`routes`]: cheapest bridge paths (multi-hop);
//! - [`input`] / [`quote`]: the JSON request, its validation, and the plan.

pub mod demand;
pub mod input;
pub mod instance;
pub mod lending;
pub mod model;
pub mod quote;
pub mod routes;
pub mod transport;

pub use input::{InputProblem, QuoteInput};
pub use quote::{Quote, Status, quote, quote_json};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouterError {
    /// Bad input: every problem, each naming its field.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Input(Vec<InputProblem>),
    #[error(transparent)]
    Solver(#[from] transport::TransportError),
}
