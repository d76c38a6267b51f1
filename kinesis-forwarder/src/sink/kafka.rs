//! The real sink: one idempotent `rdkafka` producer (`enable.idempotence`,
//! `acks=all`) that lives across invocations, over MSK IAM
//! ([`msk_iam::IamContext`] signs its tokens) or plaintext locally.
//!
//! Every record is enqueued in order and its acknowledgement awaited until
//! the invocation's deadline. Whatever is not acknowledged by then is
//! answered as not delivered (the mapping sends it again), and the producer
//! is replaced: the old one, its queue purged, is closed on a thread of its
//! own, so the retry starts on a fresh connection and producer id instead of
//! queueing behind requests a stalled broker may never answer (a frozen
//! broker, measured: a kept producer failed batch after batch for minutes
//! after the broker came back). A record already on the wire may still
//! land: a duplicate the consumer's table absorbs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use msk_iam::{Auth, IamContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer, PurgeConfig};
use rdkafka::ClientConfig;

use super::{Delivery, RecordSink};
use crate::config::Config;
use crate::record::ForwardRecord;

/// Largest record the producer sends ([`pipeline_settings::topic::MAX_MESSAGE_BYTES`]);
/// the topic's `max.message.bytes` allows as much (the topic creator sets it).
pub const MAX_MESSAGE_BYTES: usize = pipeline_settings::topic::MAX_MESSAGE_BYTES;

type Kafka = FutureProducer<IamContext>;

pub struct KafkaSink {
    config: ClientConfig,
    context: IamContext,
    topic: String,
    /// Rebuilt after a fatal error (the idempotent producer's, e.g. a
    /// sequence it can no longer repair); otherwise one for the function's life.
    producer: Mutex<Arc<Kafka>>,
}

impl KafkaSink {
    pub fn new(config: &Config, auth: &Auth) -> Result<Self, KafkaError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.bootstrap_servers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", config.linger.as_millis().to_string())
            // Java's default partitioner (murmur2 of the key), as Kafka
            // Connect's producer behind the Camel hop: a key lands on the
            // same partition whichever hop wrote it.
            .set("partitioner", "murmur2_random")
            .set("message.max.bytes", MAX_MESSAGE_BYTES.to_string())
            // Bounded by the invocation's deadline instead (see `send_all`);
            // this only ends messages nobody waits for any more.
            .set("message.timeout.ms", "300000");
        auth.configure(&mut client);
        let context = auth.context();
        let producer = Arc::new(client.create_with_context(context.clone())?);
        Ok(Self { config: client, context, topic: config.topic.clone(), producer: Mutex::new(producer) })
    }

    /// The live producer, or a new one when the last hit a fatal error.
    fn producer(&self) -> Result<Arc<Kafka>, KafkaError> {
        let mut guard = self.producer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((code, reason)) = guard.client().fatal_error() {
            tracing::error!(%code, reason, "the producer hit a fatal error: starting a new one");
            *guard = Arc::new(self.config.create_with_context(self.context.clone())?);
        }
        Ok(guard.clone())
    }

    /// Puts a new producer in place of `stale` (unless another invocation
    /// already did) and closes `stale` off the invocation's path: closing
    /// waits for its requests in flight.
    fn replace(&self, stale: &Arc<Kafka>) {
        let mut guard = self.producer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !Arc::ptr_eq(&guard, stale) {
            return;
        }
        match self.config.create_with_context(self.context.clone()) {
            Ok(fresh) => {
                let old = std::mem::replace(&mut *guard, Arc::new(fresh));
                old.purge(PurgeConfig::default().queue().inflight());
                let closing = std::thread::Builder::new().name("close-stale-producer".into()).spawn(move || drop(old));
                if let Err(e) = closing {
                    tracing::warn!(error = %e, "could not close the stale producer on its own thread");
                }
                tracing::warn!("Kafka did not acknowledge in time: the producer was replaced");
            }
            Err(e) => tracing::error!(error = %e, "could not make a new producer; keeping the old one"),
        }
    }

    /// Enqueues `record`, waiting while the producer's queue is full.
    async fn enqueue(
        &self,
        producer: &Kafka,
        record: &ForwardRecord,
        deadline: Instant,
    ) -> Result<DeliveryFuture, Delivery> {
        loop {
            let headers =
                record.headers.iter().fold(OwnedHeaders::new_with_capacity(record.headers.len()), |h, (key, value)| {
                    h.insert(Header { key, value: Some(value.as_slice()) })
                });
            let message = FutureRecord::to(&self.topic).key(&record.key).payload(&record.value).headers(headers);
            match producer.send_result(message) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(classify(&error, record)),
            }
        }
    }
}

impl KafkaSink {
    /// Waits for one record's acknowledgement until `deadline`.
    async fn acknowledgement(future: DeliveryFuture, record: &ForwardRecord, deadline: Instant) -> (Delivery, bool) {
        match tokio::time::timeout_at(deadline.into(), future).await {
            Ok(Ok(Ok(d))) => (Delivery::Acknowledged { partition: d.partition, offset: d.offset }, false),
            Ok(Ok(Err((error, _)))) => (classify(&error, record), too_large(&error)),
            Ok(Err(_canceled)) => (Delivery::NotAcknowledged("the producer was dropped".into()), false),
            Err(_elapsed) => (Delivery::NotAcknowledged("not acknowledged by the invocation's deadline".into()), false),
        }
    }
}

impl RecordSink for KafkaSink {
    async fn send_all(&self, records: &[ForwardRecord], deadline: Instant) -> Vec<Delivery> {
        let producer = match self.producer() {
            Ok(producer) => producer,
            Err(e) => return vec![Delivery::NotAcknowledged(format!("no producer: {e}")); records.len()],
        };
        let mut pending: Vec<Result<DeliveryFuture, Delivery>> = Vec::with_capacity(records.len());
        let mut blocked: Option<String> = None;
        for record in records {
            // Behind a record that could not be queued (and will be sent
            // again), nothing is sent: a later record of the same key must
            // not reach Kafka before it.
            if let Some(reason) = &blocked {
                pending.push(Err(Delivery::NotAcknowledged(reason.clone())));
                continue;
            }
            let queued = self.enqueue(&producer, record, deadline).await;
            if let Err(Delivery::NotAcknowledged(reason)) = &queued {
                blocked = Some(format!("not sent: behind record {} ({reason})", record.sequence_number));
            }
            pending.push(queued);
        }
        let mut deliveries = Vec::with_capacity(records.len());
        let mut too_large_in_request = Vec::new();
        for (i, (queued, record)) in pending.into_iter().zip(records).enumerate() {
            let delivery = match queued {
                Err(delivery) => delivery,
                Ok(future) => {
                    let (delivery, too_large) = Self::acknowledgement(future, record, deadline).await;
                    if too_large {
                        too_large_in_request.push(i);
                    }
                    delivery
                }
            };
            deliveries.push(delivery);
        }
        // The broker refuses a whole produce request whose record batch is
        // over the topic's limit: records sent beside an oversized one are
        // refused with it. Each is sent again alone, so only the one that is
        // too large by itself stays refused.
        if too_large_in_request.len() > 1 {
            for i in too_large_in_request {
                deliveries[i] = match self.enqueue(&producer, &records[i], deadline).await {
                    Ok(future) => Self::acknowledgement(future, &records[i], deadline).await.0,
                    Err(delivery) => delivery,
                };
            }
        }
        if deliveries.iter().any(|d| matches!(d, Delivery::NotAcknowledged(_))) && Instant::now() >= deadline {
            self.replace(&producer);
        }
        deliveries
    }
}

/// A refusal for the size of the record, or of the request it travelled in.
fn too_large(error: &KafkaError) -> bool {
    matches!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidRecord))
}

/// Refusals that a retry cannot cure, and everything else.
fn classify(error: &KafkaError, record: &ForwardRecord) -> Delivery {
    use RDKafkaErrorCode as Code;
    if too_large(error) {
        return Delivery::Refused(format!(
            "{error}: {} bytes (key, value and headers) is more than the topic or the producer takes (max.message.bytes)",
            record.size()
        ));
    }
    match error.rdkafka_error_code() {
        Some(
            Code::TopicAuthorizationFailed
            | Code::ClusterAuthorizationFailed
            | Code::SaslAuthenticationFailed
            | Code::InvalidTopic,
        ) => Delivery::Refused(format!(
            "{error}: the function's role needs kafka-cluster:Connect, DescribeTopic and WriteData on the topic"
        )),
        _ => Delivery::NotAcknowledged(error.to_string()),
    }
}
