//! The CAS endpoints a service's back end calls (PROTOCOLS §4): ticket validation in the
//! three protocol versions, and `/cas/proxy`, which issues nothing. Every answer is HTTP 200
//! in CAS's own format; a refusal is a CAS failure code, never the envelope.

use actix_web::{HttpRequest, HttpResponse, get};

use super::response::{self, Format};
use super::validate::{Presented, validate};
use crate::oidc::params::Params;
use crate::state::Shared;

fn presented(p: &Params) -> Presented<'_> {
    Presented {
        service: p.get("service"),
        ticket: p.get("ticket"),
        renew: super::flag(p.get("renew")),
    }
}

async fn service_validate(state: &Shared, req: &HttpRequest) -> HttpResponse {
    let p = Params::from_query(req);
    let format = Format::from_param(p.get("format"));
    // `pgtUrl` is ignored: no proxy-granting ticket is ever issued.
    let outcome = validate(state, presented(&p)).await;
    response::service_response(format, &outcome)
}

/// CAS 1.0 validation.
#[utoipa::path(
    tag = "cas",
    params(("service" = Option<String>, Query), ("ticket" = Option<String>, Query),
           ("renew" = Option<String>, Query)),
    responses((status = 200, description = "`yes\\n<user>\\n` or `no\\n\\n`", content_type = "text/plain")),
)]
#[get("/cas/validate")]
pub async fn validate_v1(state: Shared, req: HttpRequest) -> HttpResponse {
    let p = Params::from_query(&req);
    response::validate_text(&validate(&state, presented(&p)).await)
}

/// CAS 2.0 validation (with CAS 3.0's attributes).
#[utoipa::path(
    tag = "cas",
    params(("service" = Option<String>, Query), ("ticket" = Option<String>, Query),
           ("renew" = Option<String>, Query), ("format" = Option<String>, Query),
           ("pgtUrl" = Option<String>, Query)),
    responses((status = 200, description = "`cas:serviceResponse` (XML, or JSON with `format=JSON`)",
        content((String = "application/xml"), (Object = "application/json")))),
)]
#[get("/cas/serviceValidate")]
pub async fn service_validate_v2(state: Shared, req: HttpRequest) -> HttpResponse {
    service_validate(&state, &req).await
}

/// CAS 3.0 validation.
#[utoipa::path(
    tag = "cas",
    params(("service" = Option<String>, Query), ("ticket" = Option<String>, Query),
           ("renew" = Option<String>, Query), ("format" = Option<String>, Query),
           ("pgtUrl" = Option<String>, Query)),
    responses((status = 200, description = "`cas:serviceResponse` (XML, or JSON with `format=JSON`)",
        content((String = "application/xml"), (Object = "application/json")))),
)]
#[get("/cas/p3/serviceValidate")]
pub async fn service_validate_v3(state: Shared, req: HttpRequest) -> HttpResponse {
    service_validate(&state, &req).await
}

/// CAS 2.0 proxy validation: as `serviceValidate` (no proxy ticket is ever valid).
#[utoipa::path(
    tag = "cas",
    params(("service" = Option<String>, Query), ("ticket" = Option<String>, Query),
           ("renew" = Option<String>, Query), ("format" = Option<String>, Query)),
    responses((status = 200, description = "`cas:serviceResponse` (XML, or JSON with `format=JSON`)",
        content((String = "application/xml"), (Object = "application/json")))),
)]
#[get("/cas/proxyValidate")]
pub async fn proxy_validate_v2(state: Shared, req: HttpRequest) -> HttpResponse {
    service_validate(&state, &req).await
}

/// CAS 3.0 proxy validation: as `p3/serviceValidate`.
#[utoipa::path(
    tag = "cas",
    params(("service" = Option<String>, Query), ("ticket" = Option<String>, Query),
           ("renew" = Option<String>, Query), ("format" = Option<String>, Query)),
    responses((status = 200, description = "`cas:serviceResponse` (XML, or JSON with `format=JSON`)",
        content((String = "application/xml"), (Object = "application/json")))),
)]
#[get("/cas/p3/proxyValidate")]
pub async fn proxy_validate_v3(state: Shared, req: HttpRequest) -> HttpResponse {
    service_validate(&state, &req).await
}

/// Proxy tickets are not supported: always a `proxyFailure`.
#[utoipa::path(
    tag = "cas",
    params(("pgt" = Option<String>, Query), ("targetService" = Option<String>, Query),
           ("format" = Option<String>, Query)),
    responses((status = 200, description = "`cas:proxyFailure` (XML, or JSON with `format=JSON`)",
        content((String = "application/xml"), (Object = "application/json")))),
)]
#[get("/cas/proxy")]
pub async fn proxy(req: HttpRequest) -> HttpResponse {
    let p = Params::from_query(&req);
    let format = Format::from_param(p.get("format"));
    match (p.get("pgt"), p.get("targetService")) {
        (Some(_), Some(_)) => response::proxy_failure(
            format,
            "UNAUTHORIZED_SERVICE",
            "proxy tickets are not supported",
        ),
        _ => response::proxy_failure(
            format,
            "INVALID_REQUEST",
            "pgt and targetService are required",
        ),
    }
}
