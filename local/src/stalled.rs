//! A stalled endpoint: a loopback server that accepts connections, reads
//! whatever is sent and never answers, which is how an AWS endpoint looks
//! when a network path or the service stalls (throttling, by contrast,
//! answers at once). The functions' tests point their real SDK clients at it
//! to prove they still answer before their deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kinesis::config::Credentials;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct StalledEndpoint {
    pub url: String,
    accepted: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl StalledEndpoint {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let server = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut sink = [0u8; 16 * 1024];
                    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                });
            }
        });
        Ok(Self { url, accepted, server })
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The functions' SDK configuration (their HTTPS client and timeouts,
    /// `lambda_init::aws`) pointed at this endpoint, with dummy credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.url).await
    }
}

impl Drop for StalledEndpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The functions' SDK configuration pointed at `endpoint_url`.
pub async fn sdk_config_for(endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDLOCAL", "local", None, None, "local"))
        .endpoint_url(endpoint_url)
        .http_client(lambda_init::https::HttpsClient::new())
        .timeout_config(lambda_init::aws::timeouts())
        .load()
        .await
}
