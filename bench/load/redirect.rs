//! A partner's sign-in round trip with a live browser session, for the seed token mode or a
//! CAS service: `GET` the sign-in URL with the session cookie, take the token or ticket from
//! the redirect, and check it from the partner's back end (`POST /token` with the partner's
//! Basic credentials, or `/cas/p3/serviceValidate`). One iteration is one whole round trip.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    Token,
    Cas,
}

#[derive(clap::Args)]
pub(crate) struct Redirect {
    #[arg(long, value_enum)]
    pub(crate) kind: Kind,
    #[arg(long)]
    pub(crate) base: String,
    /// The `Cookie` header of a signed-in browser.
    #[arg(long)]
    pub(crate) cookie: String,
    /// The partner's callback URL (token) or service URL (cas).
    #[arg(long)]
    pub(crate) back_to: String,
    /// `Authorization` header value of the token-mode partner (`Basic …`).
    #[arg(long, default_value = "")]
    pub(crate) basic: String,
}

/// `base` + `path` with the query `pairs`, encoded.
fn with_query(base: &str, path: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{base}{path}")).expect("a base URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.into()
}

async fn once(http: &reqwest::Client, r: &Redirect) -> Result<(), String> {
    let (path, param, name) = match r.kind {
        Kind::Token => ("/login", "callback_url", "token"),
        Kind::Cas => ("/cas/login", "service", "ticket"),
    };
    let start = with_query(&r.base, path, &[(param, r.back_to.as_str())]);
    let credential = redirected_param(http, &start, &r.cookie, name).await?;
    let checked = match r.kind {
        Kind::Token => {
            let res = http
                .post(format!("{}/token", r.base))
                .header("authorization", &r.basic)
                .form(&[
                    ("token", credential.as_str()),
                    ("callback_url", r.back_to.as_str()),
                ])
                .send()
                .await
                .map_err(|e| e.to_string())?;
            res.status().is_success()
        }
        Kind::Cas => {
            let res = http
                .get(with_query(
                    &r.base,
                    "/cas/p3/serviceValidate",
                    &[
                        ("service", r.back_to.as_str()),
                        ("ticket", credential.as_str()),
                    ],
                ))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            res.text()
                .await
                .is_ok_and(|body| body.contains("<cas:authenticationSuccess>"))
        }
    };
    match checked {
        true => Ok(()),
        false => Err(format!("the {name} was not accepted")),
    }
}

pub(crate) async fn redirect_round_trips(r: Redirect, concurrency: usize, seconds: f64) -> Value {
    round_trip_loops(r, concurrency, seconds, |http, r| async move {
        once(&http, &r).await
    })
    .await
}
