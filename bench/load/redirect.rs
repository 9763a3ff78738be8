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

fn param_in(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn once(http: &reqwest::Client, r: &Redirect) -> Result<(), String> {
    let (path, param, name) = match r.kind {
        Kind::Token => ("/login", "callback_url", "token"),
        Kind::Cas => ("/cas/login", "service", "ticket"),
    };
    let res = http
        .get(with_query(&r.base, path, &[(param, r.back_to.as_str())]))
        .header("cookie", &r.cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("{path} answered {} without a redirect", res.status()))?
        .to_owned();
    let credential = param_in(&location, name).ok_or_else(|| format!("no {name} in {location}"))?;
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
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .pool_idle_timeout(Duration::from_secs(4))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let r = Arc::new(r);
    loops(concurrency, Some(seconds), move |_| {
        let (http, r) = (http.clone(), r.clone());
        async move { Some(once(&http, &r).await) }
    })
    .await
}
