#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod chengxun;
mod client;
mod codes;
mod error;
#[cfg(feature = "mock")]
pub mod mock;
mod redact;
mod response;
mod secret;
mod validate;
pub mod wecom;

pub use client::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
#[doc(hidden)]
pub use client::{Hooks, Parts, sealed};
pub use codes::{CodeInfo, Platform};
pub use error::{Error, Operation, TransportKind};
/// The `reqwest` this crate is built with, for
/// [`ClientBuilder::http_client`].
pub use reqwest;
pub use secret::Secret;
