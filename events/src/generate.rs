//! Realistic rides for the producer, the samples and the benchmarks. Seeded,
//! so a sample file or a benchmark input is the same on every machine.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::ride::{sector_name, CarRideEvent, SCHEMA_VERSION, SECTOR_COUNT};

/// Customers are drawn from a fixed population so repeat riders show up.
const CUSTOMERS: u32 = 50_000;

pub struct RideGenerator {
    rng: SmallRng,
}

impl RideGenerator {
    pub fn seeded(seed: u64) -> Self {
        Self { rng: SmallRng::seed_from_u64(seed) }
    }

    pub fn from_entropy() -> Self {
        Self { rng: SmallRng::from_rng(&mut rand::rng()) }
    }

    /// A ride ordered at `now_ms` (so end-to-end latency is measured from emission).
    pub fn ride(&mut self, now_ms: i64) -> CarRideEvent<'static> {
        let event_id = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
        let pickup = self.rng.random_range(1..=SECTOR_COUNT);
        // Most rides leave their sector; a few stay inside it.
        let destination = if self.rng.random_bool(0.1) { pickup } else { self.rng.random_range(1..=SECTOR_COUNT) };
        CarRideEvent {
            schema_version: SCHEMA_VERSION,
            event_id,
            ride_timestamp: now_ms,
            order_id: order_id(event_id).into(),
            customer_id: format!("cust-{:05}", self.rng.random_range(0..CUSTOMERS)).into(),
            pickup: sector_name(pickup).into(),
            destination: sector_name(destination).into(),
        }
    }

    pub fn rides(&mut self, count: usize, now_ms: i64) -> Vec<CarRideEvent<'static>> {
        (0..count).map(|_| self.ride(now_ms)).collect()
    }
}

/// Order ids are unique per ride and spread evenly over hash-keyed shards.
fn order_id(event_id: Uuid) -> String {
    let simple = event_id.simple().to_string();
    format!("ord-{}", &simple[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    #[test]
    fn generated_rides_are_valid_and_distinct() {
        let rides = RideGenerator::seeded(1).rides(2_000, NOW);
        let mut ids = std::collections::HashSet::new();
        for ride in &rides {
            ride.validate(NOW).expect("valid");
            assert!(ids.insert(ride.event_id), "duplicate id");
        }
        let sectors: std::collections::HashSet<_> = rides.iter().map(|r| r.pickup.clone()).collect();
        assert_eq!(sectors.len(), usize::from(SECTOR_COUNT), "every sector is used");
    }

    #[test]
    fn the_same_seed_gives_the_same_rides() {
        assert_eq!(RideGenerator::seeded(9).rides(10, NOW), RideGenerator::seeded(9).rides(10, NOW));
        assert_ne!(RideGenerator::seeded(9).rides(10, NOW), RideGenerator::seeded(10).rides(10, NOW));
    }
}
