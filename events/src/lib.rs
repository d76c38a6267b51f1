//! The event contract of the Kinesis → MSK → Lambda pipeline: the car-ride
//! event, its bytes on Kinesis and Kafka, the MSK payload Lambda receives, and
//! the sample trigger payloads under `events/samples/`. No I/O.

pub mod camel;
pub mod canonical;
pub mod connector;
pub mod envelope;
pub mod fast;
pub mod generate;
pub mod mapping;
pub mod msk;
pub mod on_failure;
pub mod ride;
pub mod rides_table;
pub mod samples;
mod scan;
pub mod topic;

pub use envelope::{decode, encode, DecodeError, OutboundRecord};
pub use ride::{CarRideEvent, ValidationError, SCHEMA_VERSION};
