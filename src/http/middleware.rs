//! Per-request context: a request id, the response language, one log line per request and the
//! headers every answer carries.
//!
//! Only the path is logged, never the query string: tokens may travel there.

use std::time::Instant;

use crate::http::lang;
use crate::observe::access;
use crate::observe::request_id::{self, RequestId};
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let lang = lang::from_request(req.request());
    let started = Instant::now();
    let id = RequestId::new_random();
    let request_id = id.as_str();
    let logged = tracing::enabled!(tracing::Level::INFO);
    let docs = req.path().starts_with("/docs");
    let mut res = lang::scope(lang, request_id::scope(id, next.call(req))).await?;
    let status = res.status().as_u16();
    // One clock read for both the histogram and the line.
    let elapsed = started.elapsed();
    // The answer still holds its request: nothing of it is copied beforehand.
    let req = res.request();
    if let Some(state) = req.app_data::<actix_web::web::Data<crate::state::AppState>>() {
        state.metrics.request(req, status, elapsed);
    }
    if logged {
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
    Ok(res)
}

/// How long a request may take to deliver its body, counted from when its head arrived. A
/// client that trickles a body byte by byte would otherwise hold a connection and a worker's
/// attention for as long as it likes; past the deadline the body reads as broken and the
/// request is refused (the headers have their own timeout in the HTTP server).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub std::time::Duration);

pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(BodyDeadline(limit)) = req.app_data::<BodyDeadline>().copied() {
        let inner = req.take_payload();
        // No body (most GETs): nothing to time, and no timer or stream to allocate.
        if matches!(inner, actix_web::dev::Payload::None) {
            return next.call(req).await;
        }
        let timed = TimedPayload {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
        };
        req.set_payload(actix_web::dev::Payload::Stream {
            payload: Box::pin(timed),
        });
    }
    next.call(req).await
}

struct TimedPayload {
    inner: actix_web::dev::Payload,
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
