//! Two librdkafka calls rust-rdkafka's `AdminClient` does not make for us.
//! It never serves the client's main queue (fede1024/rust-rdkafka#757, open),
//! where librdkafka puts the OAUTHBEARER token-refresh request, its error
//! events and its logs. So an IAM client would never be asked for a token
//! and every call would time out with nothing said. Instead:
//! - [`set_oauth_token`] hands librdkafka a signed token right after the
//!   client is made (an MSK IAM token lives 15 minutes; the topic creator's
//!   calls take seconds);
//! - [`drain_problems`] reads what librdkafka reported (errors, and log
//!   lines at warning or worse, such as a refused TLS certificate or SASL
//!   token) so a failed call can say why.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr, CString};

use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};

/// Why librdkafka did not take the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefused {
    #[error("the IAM token cannot be passed to librdkafka: {0}")]
    NulByte(#[from] std::ffi::NulError),
    #[error("librdkafka refused the IAM token: {0}")]
    Refused(String),
}

/// Sets the OAUTHBEARER token for `client`'s connections.
pub fn set_oauth_token<C: ClientContext>(client: &Client<C>, token: &str, expires_ms: i64) -> Result<(), TokenRefused> {
    let value = CString::new(token)?;
    // MSK takes the principal from the signed token; librdkafka wants a name.
    let principal = CString::new("msk-iam")?;
    let mut errstr = [0 as c_char; 512];
    // SAFETY: the native handle lives as long as the borrowed `client`;
    // `value` and `principal` are NUL-terminated and outlive the call
    // (librdkafka copies them); no extensions (null, 0); `errstr` is writable
    // for the length given.
    let code = unsafe {
        rd::rd_kafka_oauthbearer_set_token(
            client.native_ptr(),
            value.as_ptr(),
            expires_ms,
            principal.as_ptr(),
            std::ptr::null_mut(),
            0,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        Ok(())
    } else {
        Err(TokenRefused::Refused(text(errstr.as_ptr())))
    }
}

/// Takes every event waiting on the client's main queue and returns the
/// errors and the warning-or-worse log lines, oldest first.
pub fn drain_problems<C: ClientContext>(client: &Client<C>) -> Vec<String> {
    let mut problems = Vec::new();
    // SAFETY: the native handle lives as long as the borrowed `client`. The
    // queue handle is released below; each polled event is
    // destroyed after its strings (owned by the event) were copied.
    unsafe {
        let queue = rd::rd_kafka_queue_get_main(client.native_ptr());
        if queue.is_null() {
            return problems;
        }
        loop {
            let event = rd::rd_kafka_queue_poll(queue, 0);
            if event.is_null() {
                break;
            }
            match rd::rd_kafka_event_type(event) {
                rd::RD_KAFKA_EVENT_ERROR => problems.push(text(rd::rd_kafka_event_error_string(event))),
                rd::RD_KAFKA_EVENT_LOG => {
                    let (mut facility, mut message, mut level): (*const c_char, *const c_char, c_int) =
                        (std::ptr::null(), std::ptr::null(), 7);
                    // syslog levels: 4 is warning.
                    if rd::rd_kafka_event_log(event, &mut facility, &mut message, &mut level) == 0 && level <= 4 {
                        problems.push(text(message));
                    }
                }
                _ => {}
            }
            rd::rd_kafka_event_destroy(event);
        }
        rd::rd_kafka_queue_destroy(queue);
    }
    problems
}

/// A C string librdkafka owns, copied (empty when null).
fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: librdkafka's strings are NUL-terminated and live as long as
    // the event or buffer they came from, which outlives this copy.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().trim().to_owned()
}
