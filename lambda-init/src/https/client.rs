//! The SDK's `HttpClient` over hyper-util's pooled HTTP/1.1 client. One
//! connection pool per connector setting (in practice one per process), as
//! the SDK's own client keeps; errors sorted the way the SDK's retry policy
//! reads them (I/O and timeouts are transient, the rest are not).
//!
//! Connection poisoning, as the SDK's own client wires it: each request
//! captures the pooled connection it goes out on and hands the SDK a way to
//! poison it, so after a transient failure (a timeout, a 5xx) the SDK's
//! `ConnectionPoisoningInterceptor` takes it out of the pool and the retry
//! opens a fresh one instead of queueing behind a stalled socket.
//!
//! Plain HTTP reaches loopback only (the local emulators): a mistyped
//! `AWS_ENDPOINT_URL_*` naming another host over `http://` is refused before
//! a connection is made, rather than sending signed requests and ride data
//! in clear text.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::ErrorKind;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{
    capture_connection, CaptureConnection, HttpConnector as TcpConnector, HttpInfo,
};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::https::connect::{https_connector, TimedConnect};
use crate::https::errors::HttpsError;
use crate::https::roots::Trust;

type Pooled = Client<TimedConnect<HttpsConnector<TcpConnector>>, SdkBody>;
type SettingsKey = (Option<Duration>, Option<Duration>);

/// Give it to `aws_config::defaults(..).http_client(..)` (see
/// [`crate::aws::load_from_env`]) or to one client's config.
#[derive(Clone, Debug, Default)]
pub struct HttpsClient {
    trust: Trust,
    connectors: Arc<Mutex<HashMap<SettingsKey, SharedHttpConnector>>>,
}

impl HttpsClient {
    /// Trusting the system's CA bundle: what the functions use on Lambda.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusting exactly these authorities.
    pub fn with_trust(trust: Trust) -> Self {
        Self { trust, connectors: Arc::default() }
    }

    /// A connector outside the SDK, for plain requests on the same stack
    /// (the topic creator's answer to CloudFormation).
    pub fn connector(&self, connect_timeout: Duration, read_timeout: Duration) -> SharedHttpConnector {
        let settings =
            HttpConnectorSettings::builder().connect_timeout(connect_timeout).read_timeout(read_timeout).build();
        self.connector_for(&settings)
    }

    fn connector_for(&self, settings: &HttpConnectorSettings) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        connectors.entry(key).or_insert_with(|| SharedHttpConnector::new(Connector::new(&self.trust, settings))).clone()
    }
}

impl HttpClient for HttpsClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        self.connector_for(settings)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("lambda-init-hyper-h1-rustls-ring", None))
    }
}

#[derive(Debug)]
struct Connector {
    trust: Trust,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    /// Built on the first request: the CA bundle is read then, not at init.
    client: OnceLock<Result<Pooled, HttpsError>>,
}

impl Connector {
    fn new(trust: &Trust, settings: &HttpConnectorSettings) -> Self {
        Self {
            trust: trust.clone(),
            connect_timeout: settings.connect_timeout(),
            read_timeout: settings.read_timeout(),
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> &Result<Pooled, HttpsError> {
        self.client.get_or_init(|| {
            https_connector(&self.trust).map(|https| {
                let mut builder = Client::builder(TokioExecutor::new());
                // hyper-util needs a timer for its idle-connection timeout to work.
                builder.pool_timer(TokioTimer::new());
                builder.build(TimedConnect::new(https, self.connect_timeout))
            })
        })
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match self.client() {
            Ok(client) => client.clone(),
            Err(error) => return HttpConnectorFuture::ready(Err(ConnectorError::other(error.clone().into(), None))),
        };
        let mut request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into()))),
        };
        if let Err(error) = plain_http_only_to_loopback(request.uri()) {
            return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())));
        }
        let captured = capture_connection(&mut request);
        if let Some(smithy) = request.extensions().get::<CaptureSmithyConnection>() {
            smithy.set_connection_retriever(move || connection_metadata(&captured));
        }
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let responding = client.request(request);
            let response = match read_timeout {
                None => responding.await,
                Some(limit) => tokio::time::timeout(limit, responding)
                    .await
                    .map_err(|_| ConnectorError::timeout(HttpsError::ReadTimeout(limit).into()))?,
            }
            .map_err(sort_error)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// Plain `http://` only to a loopback host (`localhost`, 127.0.0.0/8, `::1`).
pub fn plain_http_only_to_loopback(uri: &http::Uri) -> Result<(), HttpsError> {
    if uri.scheme_str() != Some("http") {
        return Ok(());
    }
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(HttpsError::PlainHttpOffLoopback(host.to_owned()))
    }
}

/// What the SDK learns of the connection a request went out on, with the
/// means to poison it (as `aws-smithy-http-client` does).
fn connection_metadata(captured: &CaptureConnection) -> Option<ConnectionMetadata> {
    let connected = captured.connection_metadata();
    let connected = connected.as_ref()?;
    let mut extras = http::Extensions::new();
    connected.get_extras(&mut extras);
    let info = extras.get::<HttpInfo>();
    let to_poison = captured.clone();
    let mut builder = ConnectionMetadata::builder().proxied(connected.is_proxied()).poison_fn(move || {
        if let Some(connection) = to_poison.connection_metadata().as_ref() {
            connection.poison();
        }
    });
    builder.set_local_addr(info.map(HttpInfo::local_addr)).set_remote_addr(info.map(HttpInfo::remote_addr));
    Some(builder.build())
}

/// The SDK's own client sorts hyper's errors the same way: a timeout is a
/// timeout, a connection that failed or closed is I/O (retried), a message
/// cut short is transient, a malformed request is the caller's.
fn sort_error(error: hyper_util::client::legacy::Error) -> ConnectorError {
    if find_source::<HttpsError>(&error).is_some_and(|e| matches!(e, HttpsError::ConnectTimeout(_))) {
        return ConnectorError::timeout(error.into());
    }
    if error.is_connect() {
        return ConnectorError::io(error.into());
    }
    match find_source::<hyper::Error>(&error) {
        Some(h) if h.is_timeout() => ConnectorError::timeout(error.into()),
        Some(h) if h.is_user() => ConnectorError::user(error.into()),
        Some(h) if h.is_closed() || h.is_canceled() => ConnectorError::io(error.into()),
        Some(h) if h.is_incomplete_message() => ConnectorError::other(error.into(), Some(ErrorKind::TransientError)),
        _ if find_source::<std::io::Error>(&error).is_some() => ConnectorError::io(error.into()),
        _ => ConnectorError::other(error.into(), None),
    }
}

fn find_source<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}
