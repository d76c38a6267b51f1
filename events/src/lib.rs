//! The event contract of the Kinesis → MSK → Lambda pipeline: the car-ride
//! event, its bytes on Kinesis and Kafka, the MSK payload Lambda receives, and
//! the sample trigger payloads under `events/samples/`. No I/O (a test in
//! `infra/tests/architecture.rs` holds its dependencies to that). The
//! deployed settings (connector, mappings, topic, rides table) are the
//! `pipeline-settings` crate.
//!
//! - [`ride`]: the car-ride event and its validation; [`envelope`]: its bytes
//!   on Kinesis and Kafka (compact JSON, the seed's legacy shape), encode
//!   and decode.
//! - [`msk`]: the MSK event's types; [`payload`]: an invocation body read as
//!   one; [`fast`] (over the private `scan`): the fast paths both use.
//! - [`camel`]: the headers the Camel connector (and the forwarder) put on a
//!   Kafka record.
//! - [`on_failure`]: what a Kafka mapping writes to its on-failure
//!   destination.
//! - [`generate`], [`samples`]: seeded rides and every sample trigger
//!   payload; [`canonical`]: JSON with sorted keys for committed files.

pub mod camel;
pub mod canonical;
pub mod envelope;
pub mod fast;
pub mod generate;
pub mod msk;
pub mod on_failure;
pub mod payload;
pub mod ride;
pub mod samples;
mod scan;

pub use envelope::{decode, encode, DecodeError, OutboundRecord};
pub use ride::{CarRideEvent, ValidationError, SCHEMA_VERSION};
