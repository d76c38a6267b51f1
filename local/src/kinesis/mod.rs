//! Kinesis on loopback: the emulator (kinesalite or kinesis-local), an SDK client for it, stream
//! administration, and a fault-injecting proxy that makes it throttle.

pub mod admin;
pub mod emulator;
pub mod fault_proxy;

pub use admin::{client, create_stream, read_stream};
pub use emulator::{Emulator, EmulatorKind};
pub use fault_proxy::{FaultPlan, FaultProxy};
