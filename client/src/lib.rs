//! One client of the contract, used by the server's tests, the conformance suite and
//! load. It owns:
//!
//! - [`access`]: how a tool reaches a target (trusted CAs, a gateway's headers, the
//!   connect timeout) and the sentence for a failure to reach it;
//! - [`preflight`]: which family a target serves, told by its answers' signatures;
//! - [`run_folder`]: a folder per run for reports, and the `latest` pointer;
//! - [`request`]: a request and the exchange it came to, structured for transcripts;
//! - [`transport`]: the [`Transport`] trait (one request in, one exchange out) and a
//!   plain reqwest transport; the suite implements the trait on its recording context;
//! - [`flows`]: code + PKCE, device, refresh and bearer calls, written once against the
//!   trait, approvals left to the caller's [`flows::Approver`];
//! - [`pkce`]: RFC 7636 pairs;
//! - [`families`]: each family's answer readers (punchplay's envelope, enterprise's layers);
//! - [`sse`]: the live event stream's reader.
//!
//! It judges nothing: what a clause requires of an answer is the caller's business.

pub mod access;
pub mod families;
pub mod flows;
pub mod pkce;
pub mod preflight;
pub mod request;
pub mod run_folder;
pub mod sse;
pub mod transport;

pub use flows::{ClientAuth, DeviceCode, FlowError, Tokens};
pub use pkce::Pkce;
pub use request::{Exchange, Req, ReqBody};
pub use transport::{HttpTransport, Transport, TransportError};
