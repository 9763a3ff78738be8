//! The refusals a route documents, listed by reason. Each reason is filed under the status the
//! server sends it with ([`crate::error::status_of`]), so the document cannot put a refusal
//! under the wrong status; reasons sharing a status share one entry. Refusals many routes
//! share are named once below and listed by name:
//!
//! ```ignore
//! refusals!(SigninRefusals: [TOO_LARGE] "invalid_params", "rate_limited" = "per client IP");
//! #[utoipa::path(responses((status = 200, …), SigninRefusals))]
//! ```

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// A reason and what the route adds about it (empty for nothing).
pub type Refusal = (&'static str, &'static str);

/// A body that is not JSON or a form of the route's fields.
pub const UNREADABLE: &[Refusal] = &[("invalid_params", "an unreadable body")];
/// No live token.
pub const SIGNED_IN: &[Refusal] = &[
    ("token_missing", ""),
    ("token_invalid", ""),
    ("token_expired", ""),
    ("token_revoked", ""),
];
/// The operators' routes.
pub const OPERATOR_ONLY: &[Refusal] = &[
    ("forbidden", "not an operator"),
    ("token_audience", "a partner's token"),
];
/// The routes that change an account: only Gatehouse's own clients' tokens.
pub const FIRST_PARTY: &[Refusal] = &[("token_audience", "a partner's token")];
/// The routes that check the account's password again (under the sign-in lockout).
pub const PASSWORD_CHECK: &[Refusal] = &[
    ("credentials_invalid", "a wrong password"),
    (
        "rate_limited",
        "the account is locked after repeated wrong passwords",
    ),
    (
        "unavailable",
        "a backing service is down, or password checks are queued up (Retry-After)",
    ),
];
/// Every sign-in.
pub const SIGN_IN: &[Refusal] = &[
    ("invalid_params", ""),
    ("account_disabled", ""),
    (
        "rate_limited",
        "the client IP made too many failed sign-ins",
    ),
];
/// Over the body limit.
pub const TOO_LARGE: &[Refusal] = &[("payload_too_large", "")];
/// The database or the store not answering.
pub const DOWN: &[Refusal] = &[("unavailable", "a backing service is down")];

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

/// The responses of `own` refusals and then the `shared` groups; a reason listed twice keeps
/// its first note.
///
/// # Panics
/// On a string that is no reason of the contract: a mistake in a route's documentation, met
/// by the unit test that builds the whole document.
pub fn answers(shared: &[&[Refusal]], own: &[Refusal]) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    let mut seen = Vec::new();
    for (reason, note) in own.iter().chain(shared.iter().copied().flatten()) {
        if seen.contains(reason) {
            continue;
        }
        seen.push(reason);
        let status = crate::error::status_of(reason)
            .unwrap_or_else(|| panic!("`{reason}` is no reason of the contract"));
        let line = match note.is_empty() {
            true => (*reason).to_owned(),
            false => format!("{reason} ({note})"),
        };
        by_status.entry(status.as_u16()).or_default().push(line);
    }
    by_status
        .into_iter()
        .map(|(status, lines)| (status.to_string(), error(&lines.join(", "))))
        .collect()
}

/// `refusals!(Name: [SHARED, …] "reason", "reason" = "note", …);` declares `Name` for a
/// route's `responses(…)`.
macro_rules! refusals {
    ($name:ident: [$($shared:ident),*] $($reason:literal $(= $note:literal)?),* $(,)?) => {
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::Response>,
            > {
                use $crate::openapi::responses::*;
                answers(&[$($shared),*], &[$(($reason, concat!("" $(, $note)?))),*])
            }
        }
    };
}
pub(crate) use refusals;

refusals!(SignedInRefusals: [UNREADABLE, SIGNED_IN, DOWN]);
refusals!(OperatorRefusals: [UNREADABLE, SIGNED_IN, OPERATOR_ONLY, DOWN]);
refusals!(OperatorListRefusals: [SIGNED_IN, OPERATOR_ONLY, DOWN] "invalid_params");
refusals!(SignedInByIdRefusals: [UNREADABLE, SIGNED_IN, DOWN] "not_found");
refusals!(OperatorByIdRefusals: [UNREADABLE, SIGNED_IN, OPERATOR_ONLY, DOWN] "not_found");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_filed_under_their_status_in_the_order_given_with_notes() {
        let answers = answers(
            &[SIGNED_IN, DOWN],
            &[
                ("credentials_invalid", "old password wrong"),
                ("invalid_params", ""),
                ("unavailable", "bcrypt queue full"),
            ],
        );
        let described = |status: &str| match &answers[status] {
            RefOr::T(response) => response.description.clone(),
            RefOr::Ref(_) => panic!("a reference"),
        };
        assert_eq!(answers.keys().collect::<Vec<_>>(), ["400", "401", "503"]);
        assert_eq!(described("400"), "invalid_params");
        assert_eq!(
            described("401"),
            "credentials_invalid (old password wrong), token_missing, token_invalid, \
             token_expired, token_revoked"
        );
        assert_eq!(described("503"), "unavailable (bcrypt queue full)");
    }

    #[test]
    #[should_panic(expected = "no reason of the contract")]
    fn a_misspelt_reason_is_caught_when_the_document_is_built() {
        answers(&[], &[("token_expried", "")]);
    }
}
