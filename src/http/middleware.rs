//! Per-request context: a request id, the response language, one log line per request and the
//! headers every answer carries.
//!
//! Only the path is logged, never the query string: tokens may travel there.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

use crate::http::lang;

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let lang = lang::from_request(req.request());
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    // What the request line needs is only copied when it will be written.
    let logged = tracing::enabled!(tracing::Level::INFO)
        .then(|| (req.method().clone(), req.path().to_owned(), Instant::now()));
    let span = tracing::info_span!("request", id = %request_id);
    let mut res = lang::scope(lang, next.call(req))
        .instrument(span.clone())
        .await?;
    if let Some((method, path, started)) = logged {
        let status = res.status().as_u16();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.in_scope(|| {
            tracing::info!(%method, %path, status, elapsed_ms = format_args!("{elapsed_ms:.2}"), "request");
        });
    }
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(header::HeaderName::from_static("x-request-id"), v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
