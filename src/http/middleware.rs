//! Per-request context: a request id, the response language, one log line per request and the
//! headers every answer carries.
//!
//! Only the path is logged, never the query string: tokens may travel there.

use std::future::{Ready, ready};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::lang;
use crate::observe::request_id::{self, RequestId};
use crate::observe::{Metrics, access};
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderValue};
use futures_util::future::LocalBoxFuture;

const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// The one middleware around every route. It is a `Transform` of its own rather than two
/// `from_fn` layers: each of those boxes its future and calls the next service through
/// another box, four allocations and two dynamic calls a request where this makes one.
#[derive(Clone)]
pub struct RequestContext {
    metrics: Arc<Metrics>,
    /// How long a request may take to deliver its body, counted from when its head arrived.
    /// A client that trickles a body byte by byte would otherwise hold a connection and a
    /// worker's attention for as long as it likes; past the deadline the body reads as broken
    /// and the request is refused (the head has its own deadline, `HeadDeadline`).
    body_deadline: Duration,
}

impl RequestContext {
    pub fn new(metrics: Arc<Metrics>, body_deadline: Duration) -> Self {
        RequestContext {
            metrics,
            body_deadline,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequestContext
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequestContextService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestContextService {
            service,
            context: self.clone(),
        }))
    }
}

pub struct RequestContextService<S> {
    service: S,
    context: RequestContext,
}

impl<S, B> Service<ServiceRequest> for RequestContextService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse<B>, actix_web::Error>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let lang = lang::from_request(req.request());
        let started = Instant::now();
        let id = RequestId::new_random();
        let docs = req.path().starts_with("/docs");
        time_body(&mut req, self.context.body_deadline);
        // The inner services start within the request's scope, as they go on in it.
        let answer = request_id::within(id, || lang::sync_scope(lang, || self.service.call(req)));
        let metrics = self.context.metrics.clone();
        Box::pin(async move {
            let res = lang::scope(lang, request_id::scope(id, answer)).await?;
            Ok(finish(res, &metrics, id, started, docs))
        })
    }
}

/// Counts and logs the answer, and adds the headers every answer carries.
fn finish<B>(
    mut res: ServiceResponse<B>,
    metrics: &Metrics,
    id: RequestId,
    started: Instant,
    docs: bool,
) -> ServiceResponse<B> {
    let status = res.status().as_u16();
    // One clock read for both the histogram and the line.
    let elapsed = started.elapsed();
    // The answer still holds its request: nothing of it is copied beforehand.
    let req = res.request();
    metrics.request(req, status, elapsed);
    let request_id = id.as_str();
    if tracing::enabled!(tracing::Level::INFO) {
        let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
        let (method, path) = (req.method().as_str(), req.path());
        let line = access::Line {
            id: request_id,
            method,
            path,
            status,
            elapsed_ms,
        };
        if !access::write(&line) {
            request_id::within(id, || {
                tracing::info!(%method, %path, status, elapsed_ms = format_args!("{elapsed_ms:.2}"), "request");
            });
        }
    }
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(header::HeaderName::from_static("x-request-id"), v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if docs {
        // Swagger UI: its own scripts and the document only. React sets styles through the
        // CSSOM, which CSP does not govern; 'unsafe-inline' covers the few style attributes.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Gives the request's body `limit` to arrive.
fn time_body(req: &mut ServiceRequest, limit: Duration) {
    let inner = req.take_payload();
    // No body (most GETs): nothing to time, and no timer or stream to allocate.
    if matches!(inner, Payload::None) {
        return;
    }
    let timed = TimedPayload {
        inner,
        deadline: Box::pin(tokio::time::sleep(limit)),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(timed),
    });
}

struct TimedPayload {
    inner: Payload,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl futures_util::Stream for TimedPayload {
    type Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if let Poll::Ready(item) = std::pin::Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "request body too slow"),
            )))),
            Poll::Pending => Poll::Pending,
        }
    }
}
