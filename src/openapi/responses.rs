//! Error answers many routes share, each named once: a route lists its own answers and then
//! the shared ones by name (`responses((status = 200, …), Unreadable, SignedIn, Down)`).

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

fn error(description: &str) -> RefOr<Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .build()
        .into()
}

macro_rules! shared_answer {
    ($($(#[$doc:meta])* $name:ident: $status:literal, $description:literal;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([($status.to_owned(), error($description))])
            }
        }
    )*};
}

shared_answer! {
    /// A body that is not JSON or a form of the route's fields.
    Unreadable: "400", "invalid_params: an unreadable body";
    /// No live token.
    SignedIn: "401", "token_missing, token_invalid, token_expired, token_revoked";
    /// The operators' routes.
    OperatorOnly: "403", "forbidden (not an operator), token_audience (a partner's token)";
    /// Over the body limit.
    TooLarge: "413", "payload_too_large";
    /// The database or the store not answering.
    Down: "503", "unavailable: a backing service is down";
}
