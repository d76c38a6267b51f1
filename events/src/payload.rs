//! An invocation payload read as the MSK event: the fast path for the layout
//! Lambda sends, serde_json for anything else. Above both [`crate::fast`] and
//! [`crate::msk`] (the types), so neither needs the other's caller.

use crate::msk::MskEvent;

/// Reads an invocation payload: the fast path for the layout Lambda sends
/// ([`crate::fast::msk_event`]), serde_json for anything else, which also
/// words the error when the payload is not an MSK event at all.
pub fn msk_event(payload: &[u8]) -> Result<MskEvent<'_>, serde_json::Error> {
    match std::str::from_utf8(payload) {
        Ok(text) => match crate::fast::msk_event(text) {
            Some(event) => Ok(event),
            None => serde_json::from_str(text),
        },
        Err(_) => serde_json::from_slice(payload),
    }
}
