//! Normalization: removing what varies between occurrences of one error.
//!
//! Grouping must see through everything that changes from one occurrence to
//! the next without changing *which* error it is: numbers, ids and quoted
//! values in messages ([`parameterize_message`]); line numbers, addresses,
//! generated names, deployment paths, version numbers and bundle hashes in
//! frames ([`normalize_frame`], [`normalize_path`]).

mod frame;
mod message;
mod path;
mod symbol;

pub use frame::{normalize_frame, RawFrame};
pub use message::parameterize_message;
pub use path::{module_from_path, normalize_path};
pub(crate) use symbol::{split_dotnet_symbol, split_rust_symbol};
