//! The transaction field rules, shared with the desktop core: they live in
//! [`ledgerline_wire::rules`] so both sides check the same things with the
//! same words.

pub use ledgerline_wire::rules::*;
