#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod chengxun;
mod client;
mod codes;
mod error;
mod facade;
mod hex;
mod limit;
#[cfg(feature = "mock")]
pub mod mock;
mod operation;
mod raw;
mod redact;
mod response;
mod retry;
#[cfg(feature = "postgres")]
mod seal;
mod secret;
pub mod store;
mod validate;
pub mod wecom;

pub use client::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_TIMEOUT};
#[doc(hidden)]
pub use client::{Hooks, Parts, sealed};
pub use codes::{CodeInfo, Platform};
pub use error::{Error, TransportKind};
pub use limit::DEFAULT_MAX_RESPONSE_BYTES;
pub use operation::{Credential, Operation};
/// The `reqwest` this crate is built with, for
/// [`ClientBuilder::http_client`].
pub use reqwest;
pub use retry::RetryPolicy;
pub use secret::Secret;
