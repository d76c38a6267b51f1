//! Hands the handler the invocation body exactly as Lambda sent it. Left to
//! itself, `lambda_runtime` runs serde_json over the whole body (up to 6 MB)
//! to build the handler's payload, and the handler then parses it again: on
//! a full batch that first pass alone cost as much as all the consumer's own
//! work. This tower layer, added last so it runs first, takes the body out of
//! the `LambdaInvocation` and leaves `null`, which the runtime reads as the
//! handler's `LambdaEvent<()>`; the handler takes the bytes by request id.
//! Everything else (tracing, panics, error reports) stays the runtime's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaInvocation;

/// Bodies taken from invocations, waiting for their handler.
#[derive(Debug, Clone, Default)]
pub struct RawBodies(Arc<Mutex<HashMap<String, Bytes>>>);

impl RawBodies {
    fn put(&self, request_id: String, body: Bytes) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(request_id, body);
    }

    /// The body of invocation `request_id`, once.
    pub fn take(&self, request_id: &str) -> Option<Bytes> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(request_id)
    }
}

/// `Runtime::new(handler).layer(RawBodyLayer::new(bodies.clone()))`.
#[derive(Debug, Clone)]
pub struct RawBodyLayer {
    bodies: RawBodies,
}

impl RawBodyLayer {
    pub fn new(bodies: RawBodies) -> Self {
        Self { bodies }
    }
}

impl<S> Layer<S> for RawBodyLayer {
    type Service = RawBodyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RawBodyService { inner, bodies: self.bodies.clone() }
    }
}

#[derive(Debug, Clone)]
pub struct RawBodyService<S> {
    inner: S,
    bodies: RawBodies,
}

/// What the runtime deserialises into the handler's `()` payload.
const PLACEHOLDER: &[u8] = b"null";

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for RawBodyService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let body = std::mem::replace(&mut invocation.body, Bytes::from_static(PLACEHOLDER));
        self.bodies.put(invocation.context.request_id.clone(), body);
        self.inner.call(invocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::tower::{service_fn, ServiceExt};

    #[tokio::test]
    async fn the_handler_gets_the_body_and_the_runtime_gets_null() {
        let bodies = RawBodies::default();
        let inner = service_fn(|invocation: LambdaInvocation| async move {
            assert_eq!(&invocation.body[..], PLACEHOLDER);
            Ok::<_, std::convert::Infallible>(invocation.context.request_id)
        });
        let service = RawBodyLayer::new(bodies.clone()).layer(inner);
        let mut context = lambda_runtime::Context::default();
        context.request_id = "req-1".into();
        let (parts, ()) = http::Response::new(()).into_parts();
        let body = Bytes::from_static(br#"{"records":{}}"#);
        let invocation = LambdaInvocation { parts, body: body.clone(), context };
        let seen = service.oneshot(invocation).await.expect("infallible");
        assert_eq!(seen, "req-1");
        let taken = bodies.take("req-1").expect("the body was kept");
        assert_eq!((taken.as_ptr(), taken.len()), (body.as_ptr(), body.len()), "the same buffer, not a copy");
        assert_eq!(bodies.take("req-1"), None, "taken once");
    }
}
