//! The loopback HTTP proxy the fault injectors share: it listens on a free
//! port, hands each request to an interceptor, and forwards what the
//! interceptor passes on to the emulator behind it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub type HttpResponse = Response<Full<Bytes>>;
pub type Parts = hyper::http::request::Parts;

/// The emulator behind a proxy.
pub struct Upstream {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Upstream {
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), client: Client::builder(TokioExecutor::new()).build_http() }
    }

    /// Sends the request on unchanged (but for `body`) and returns the answer.
    pub async fn forward(&self, mut parts: Parts, body: Bytes) -> Result<HttpResponse, String> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("{}{}", self.base, path).parse().map_err(|e| format!("upstream uri: {e}"))?;
        parts.headers.remove(hyper::header::CONTENT_LENGTH);
        let response = self
            .client
            .request(Request::from_parts(parts, Full::new(body)))
            .await
            .map_err(|e| format!("upstream {}: {e}", self.base))?;
        let (mut parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| format!("upstream body: {e}"))?.to_bytes();
        parts.headers.remove(hyper::header::CONTENT_LENGTH);
        Ok(Response::from_parts(parts, Full::new(body)))
    }

    /// [`Upstream::forward`], a failure answered as 502.
    pub async fn pass(&self, parts: Parts, body: Bytes) -> HttpResponse {
        self.forward(parts, body).await.unwrap_or_else(|e| plain(StatusCode::BAD_GATEWAY, e))
    }
}

/// What a proxy does with one request (its head and whole body).
pub type Interceptor = Arc<dyn Fn(Parts, Bytes) -> Pin<Box<dyn Future<Output = HttpResponse> + Send>> + Send + Sync>;

/// A running proxy; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port; every request goes to `intercept`.
    pub async fn start(intercept: Interceptor) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let intercept = intercept.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let intercept = intercept.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let response = match body.collect().await {
                                Ok(b) => intercept(parts, b.to_bytes()).await,
                                Err(e) => plain(StatusCode::BAD_REQUEST, format!("reading request: {e}")),
                            };
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The AWS JSON protocol's operation (`X-Amz-Target`, after the dot).
pub fn operation(parts: &Parts) -> &str {
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    target.rsplit('.').next().unwrap_or_default()
}

pub fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response
}

pub fn plain(status: StatusCode, message: String) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = status;
    response
}
