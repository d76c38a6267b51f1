//! Connections: TCP without Nagle's delay (as the SDK's own client), then TLS
//! for `https` endpoints (plain HTTP for loopback emulators only: the client
//! refuses it to any other host),
//! the whole of it bounded by the SDK's connect timeout, handshake included.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use crate::https::errors::HttpsError;
use crate::https::roots::Trust;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// TCP, then TLS where the scheme is `https`, HTTP/1.1 only (no ALPN `h2`).
pub fn https_connector(trust: &Trust) -> Result<HttpsConnector<HttpConnector>, HttpsError> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    let tls = trust.tls_config()?;
    Ok(HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(tcp))
}

/// A connector whose whole connection (DNS, TCP, TLS) must finish in time.
#[derive(Clone, Debug)]
pub struct TimedConnect<C> {
    inner: C,
    limit: Option<Duration>,
}

impl<C> TimedConnect<C> {
    pub fn new(inner: C, limit: Option<Duration>) -> Self {
        Self { inner, limit }
    }
}

impl<C> Service<Uri> for TimedConnect<C>
where
    C: Service<Uri>,
    C::Response: Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let limit = self.limit;
        Box::pin(async move {
            let Some(limit) = limit else {
                return connecting.await.map_err(Into::into);
            };
            match tokio::time::timeout(limit, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(Box::new(HttpsError::ConnectTimeout(limit)) as BoxError),
            }
        })
    }
}
