//! Splits records into `PutRecords` requests that respect every Kinesis limit:
//! 500 records and 5 MiB (data + partition keys) per request, 1 MiB per record.

use events::envelope::MAX_KINESIS_RECORD_BYTES;
use events::OutboundRecord;

pub const MAX_RECORDS_PER_REQUEST: usize = 500;
pub const MAX_BYTES_PER_REQUEST: usize = 5 * 1024 * 1024;
/// Kinesis partition keys are 1 to 256 Unicode characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Limits as data, so tests can use small ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub records_per_request: usize,
    pub bytes_per_request: usize,
    pub bytes_per_record: usize,
}

impl Limits {
    pub const KINESIS: Limits = Limits {
        records_per_request: MAX_RECORDS_PER_REQUEST,
        bytes_per_request: MAX_BYTES_PER_REQUEST,
        bytes_per_record: MAX_KINESIS_RECORD_BYTES,
    };
}

/// A record Kinesis would reject whatever we did, so it is never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub index: usize,
    pub reason: String,
}

/// Indices into the input, grouped into requests, in input order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub batches: Vec<Vec<usize>>,
    pub rejected: Vec<Rejected>,
}

pub fn plan(records: &[OutboundRecord], limits: Limits) -> Plan {
    let mut plan = Plan::default();
    let mut current = Vec::new();
    let mut current_bytes = 0;
    for (index, record) in records.iter().enumerate() {
        let size = record.billed_size();
        let key_chars = record.partition_key.chars().count();
        if key_chars == 0 || key_chars > MAX_PARTITION_KEY_CHARS {
            let reason =
                format!("partition key has {key_chars} characters; Kinesis accepts 1 to {MAX_PARTITION_KEY_CHARS}");
            plan.rejected.push(Rejected { index, reason });
            continue;
        }
        if size > limits.bytes_per_record {
            let reason = format!(
                "record is {size} bytes (data + partition key); Kinesis accepts at most {}",
                limits.bytes_per_record
            );
            plan.rejected.push(Rejected { index, reason });
            continue;
        }
        if current.len() == limits.records_per_request || current_bytes + size > limits.bytes_per_request {
            plan.batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(index);
        current_bytes += size;
    }
    if !current.is_empty() {
        plan.batches.push(current);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn record(key: &str, data_len: usize) -> OutboundRecord {
        OutboundRecord { event_id: Uuid::nil(), partition_key: key.into(), data: vec![b'x'; data_len] }
    }

    #[test]
    fn splits_at_500_records() {
        let records: Vec<_> = (0..1_201).map(|_| record("k", 10)).collect();
        let plan = plan(&records, Limits::KINESIS);
        let sizes: Vec<_> = plan.batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [500, 500, 201]);
    }

    #[test]
    fn splits_at_5_mib_counting_partition_keys() {
        // 5 records of 1 MiB - 1 byte data + a 1-byte key fill exactly 5 MiB.
        let records: Vec<_> = (0..6).map(|_| record("k", MAX_KINESIS_RECORD_BYTES - 1)).collect();
        let plan = plan(&records, Limits::KINESIS);
        assert_eq!(plan.batches, vec![vec![0, 1, 2, 3, 4], vec![5]]);
    }

    #[test]
    fn rejects_what_kinesis_would_reject() {
        let records = vec![
            record("k", 1),
            record("k", MAX_KINESIS_RECORD_BYTES), // + 1 key byte = 1 MiB + 1
            record("", 1),
            record(&"é".repeat(257), 1),
            record(&"é".repeat(256), 1),
        ];
        let plan = plan(&records, Limits::KINESIS);
        assert_eq!(plan.batches, vec![vec![0, 4]]);
        let rejected: Vec<_> = plan.rejected.iter().map(|r| r.index).collect();
        assert_eq!(rejected, [1, 2, 3]);
        assert!(plan.rejected[0].reason.contains("1048577 bytes"), "{}", plan.rejected[0].reason);
    }

    proptest! {
        #[test]
        fn every_record_is_planned_once_and_no_batch_breaks_a_limit(
            sizes in proptest::collection::vec(0usize..3_000, 0..400),
            per_request in 1usize..50,
            bytes_per_request in 2_000usize..20_000,
        ) {
            let limits = Limits { records_per_request: per_request, bytes_per_request, bytes_per_record: 2_000 };
            let records: Vec<_> = sizes.iter().map(|&n| record("key", n)).collect();
            let plan = plan(&records, limits);
            let mut seen: Vec<usize> = plan.batches.iter().flatten().copied().chain(plan.rejected.iter().map(|r| r.index)).collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..records.len()).collect::<Vec<_>>());
            for batch in &plan.batches {
                prop_assert!(!batch.is_empty() && batch.len() <= per_request);
                prop_assert!(batch.iter().map(|&i| records[i].billed_size()).sum::<usize>() <= bytes_per_request);
                prop_assert!(batch.windows(2).all(|w| w[0] < w[1]), "input order kept");
            }
            for r in &plan.rejected {
                prop_assert!(records[r.index].billed_size() > 2_000);
            }
        }
    }
}
