//! The rides table's answers applied to a batch: counted as stored or
//! already stored, a changed ride under a stored event id turned into a
//! dead letter beside the partition's poison, and the rides the table did
//! not take kept with the record each came in.

use crate::batch::{FoundRides, RideOrigin};
use crate::dead_letter::{DeadLetter, DeadLetterBatch, LetterMeta};
use crate::store::Outcome;

/// The dead-letter kind of a ride whose event id is stored with other content.
pub const CONFLICTING_RIDE: &str = "conflicting_ride";

/// What the table's answers come to.
#[derive(Default)]
pub struct Applied<'r, 'e> {
    pub stored: usize,
    /// Rides already stored before this delivery.
    pub duplicates: usize,
    /// Rides stored under their event id with other content: dead-lettered.
    pub conflicting: usize,
    /// Rides the table did not take, each with the reason.
    pub not_stored: Vec<(&'r RideOrigin<'e>, String)>,
}

/// Applies one outcome per ride (the store's contract; a ride it gave none
/// for is not stored, so never acknowledged by default), adding each
/// conflicting ride to its partition's dead letters.
pub fn apply<'r, 'e>(
    outcomes: Vec<Outcome>,
    rides: &'r FoundRides<'e>,
    quarantine: &mut Vec<DeadLetterBatch<'e>>,
    meta: &LetterMeta,
) -> Applied<'r, 'e> {
    let mut applied = Applied::default();
    let mut outcomes = outcomes.into_iter();
    for (ride, found) in rides.rides.iter().zip(&rides.origins) {
        let outcome = outcomes
            .next()
            .unwrap_or_else(|| Outcome::NotStored { reason: "the store returned no outcome for this ride".into() });
        match outcome {
            Outcome::Stored => applied.stored += 1,
            Outcome::AlreadyStored => applied.duplicates += 1,
            Outcome::Conflicting { differs } => {
                applied.conflicting += 1;
                let reason = format!(
                    "event id {} is stored with another {}: a second ride under one event id (a producer bug); the stored ride is kept",
                    ride.event_id,
                    differs.join(", ")
                );
                let letter = DeadLetter::new(found.records_key, found.record, CONFLICTING_RIDE, reason, meta);
                match quarantine.iter_mut().find(|b| b.records_key == found.records_key) {
                    Some(batch) => batch.letters.push(letter),
                    None => quarantine
                        .push(DeadLetterBatch { records_key: found.records_key.to_owned(), letters: vec![letter] }),
                }
            }
            Outcome::NotStored { reason } => applied.not_stored.push((found, reason)),
        }
    }
    applied
}
