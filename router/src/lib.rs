//! atoll-router: where capital should sit and how to move it there. Pure: plain data in, plain
//! data out, no async, no I/O. This first module holds the per-pool yield model every solver in
//! this crate optimises (see DESIGN.md, "Router model").

pub mod demand;
pub mod model;
pub mod transport;
