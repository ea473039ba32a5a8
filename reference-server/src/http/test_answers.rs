//! What every test control reads and answers, shared by the shell's controls
//! (`test_controls.rs`, `test_double.rs`) and the families': a JSON body read into its
//! type, and a JSON answer carrying the server's clock as `now`. Imports nothing of them.

use hyper::Response;
use serde::Deserialize;
use serde_json::Value;

use super::request::parse_json;
use super::respond::Body;
use super::{App, ok_json};
use crate::core::clock::rfc3339;
use crate::core::error::{ProtocolError, ProtocolResult};

/// A control's JSON body as `T`; anything else is `invalid_request` saying what is wrong.
pub(crate) fn body_as<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> ProtocolResult<T> {
    let value = parse_json(bytes)?;
    serde_json::from_value(value).map_err(|e| {
        ProtocolError::invalid_request(format!("The test-control body is malformed: {e}."))
    })
}

/// A test control's JSON answer with the server's clock reading added as `now`, so a
/// client can compute expectations from the server's time, not from its own.
pub(crate) fn ok_with_now(app: &App, mut value: Value) -> ProtocolResult<Response<Body>> {
    if let Value::Object(members) = &mut value {
        members
            .entry("now")
            .or_insert_with(|| Value::String(rfc3339(app.core.now())));
    }
    ok_json(&value)
}
