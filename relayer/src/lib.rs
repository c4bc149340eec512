//! atoll-relayer: bridge transfers executed exactly once. This first module is the transfer
//! state machine: the states, their stored names, and which transitions are allowed.

pub mod state;
