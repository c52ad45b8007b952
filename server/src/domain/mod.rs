//! Domain newtypes the API parses once at the edge: the list's keyset
//! [`page::PageCursor`] and [`page::PageLimit`], bearer [`token::BearerToken`]s,
//! argon2 [`password`] hashes, the [`transaction`] field rules, and what
//! [`text`] counts as blank. Money and currencies live in
//! `ledgerline_wire::money`, shared with the desktop core.

pub mod page;
pub mod password;
pub mod text;
pub mod token;
pub mod transaction;
