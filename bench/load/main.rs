//! The load generator behind `bench/run`, for the scenarios `wrk` cannot express: a fresh
//! captcha for every password sign-in, refresh chains (each refresh replaces the token it
//! used), one sign-out per session, an open-loop probe that keeps its rate while the server is
//! busy, and a stand-in partner that receives back-channel logouts after a chosen delay.
//!
//! A sign-in storm (`signin --concurrency 300 --forwarded-for --honour-retry-after`) plays
//! many people behind a trusted proxy: each loop has its own account and its own
//! `X-Forwarded-For` address, and a 503 `unavailable` (the bcrypt queue is full) is counted
//! apart from sign-ins and waits its `Retry-After` before the loop signs in again.
//!
//! Every scenario prints one JSON object on stdout; `bench/bench.py` reads it. Latencies are
//! measured from the moment a request was due, so a stalled server cannot hide its stalls by
//! slowing the probe down (no coordinated omission).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

mod local;
mod measure;
mod mixed;
mod oidc;
mod probe;
mod redirect;
mod sessions;
mod signin;

use local::*;
use measure::*;
use mixed::*;
use oidc::*;
use probe::*;
use redirect::*;
use sessions::*;
use signin::*;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Median time of one bcrypt verification at COST on this machine, one thread.
    Bcrypt {
        #[arg(long, default_value_t = 12)]
        cost: u32,
        #[arg(long, default_value_t = 7)]
        rounds: usize,
    },
    /// Median time of drawing one captcha PNG, in this process (no HTTP, one thread).
    Captcha {
        #[arg(long, default_value_t = 2000)]
        count: usize,
    },
    /// Password sign-ins, each with a captcha of its own, from CONCURRENCY loops.
    Signin {
        #[arg(long)]
        base: String,
        /// A file of `number password` lines; loops take accounts round-robin.
        #[arg(long)]
        accounts: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Each loop sends `X-Forwarded-For: 10.1.x.y` of its own, as a different person
        /// behind a trusted proxy (the server needs GATEHOUSE_TRUSTED_PROXIES=127.0.0.1).
        #[arg(long)]
        forwarded_for: bool,
        /// After a 503 `unavailable`, wait its `Retry-After` (capped at the deadline) before
        /// the next sign-in, as a well-behaved client does; without it the loop goes on at once.
        #[arg(long)]
        honour_retry_after: bool,
    },
    /// Makes COUNT sessions (sign-ins), each recorded at the partners' callback URLs and its
    /// token checked once; writes the tokens to OUT, one a line.
    Sessions {
        #[arg(long)]
        base: String,
        #[arg(long)]
        accounts: String,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Callback URLs of partner systems to record in every session (repeatable).
        #[arg(long = "callback")]
        callbacks: Vec<String>,
        #[arg(long)]
        out: String,
    },
    /// `PATCH /users/signout` once for every token in TOKENS.
    Signout {
        #[command(flatten)]
        run: TokenRun,
    },
    /// Refresh chains: every loop refreshes its token and continues with the new one.
    Refresh {
        #[command(flatten)]
        run: TokenRun,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Open loop: `GET PATH` (with TOKEN as a bearer token when given) at a fixed RATE per
    /// second; any 2xx answer is a success (JSON envelope or HTML page).
    Probe {
        #[arg(long)]
        base: String,
        #[arg(long, default_value = "/token")]
        path: String,
        #[arg(long)]
        token: Option<String>,
        #[arg(long, default_value_t = 500)]
        rate: u64,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// A request not answered this long after it was due counts as this long, and as a
        /// timeout (not a failure).
        #[arg(long, default_value_t = 30_000)]
        timeout_ms: u64,
    },
    /// OpenID Connect round trips with a live session: authorize (with COOKIE) → code →
    /// token exchange (Basic, PKCE) → userinfo, from CONCURRENCY loops, against any provider.
    OidcRoundTrip {
        #[command(flatten)]
        rt: RoundTrip,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// A partner's sign-in round trips with a live session: the seed token mode (token in the
    /// redirect, checked with `POST /token`) or a CAS service (ticket, `/cas/p3/serviceValidate`).
    RedirectRoundTrip {
        #[command(flatten)]
        r: Redirect,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// A busy site's mix flat out: CONCURRENCY people, each on one keep-alive connection,
    /// checking tokens, reading their account, refreshing, recorded by a partner, signing out
    /// and in; a latency summary per kind of request.
    Mixed {
        #[command(flatten)]
        m: Mix,
        #[arg(long, default_value_t = 1000)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// A partner's back-channel logout endpoint: `POST /logout/{n}` answers 200 after
    /// DELAY_MS; `GET /count` tells how many each `n` received.
    Partner {
        #[arg(long)]
        listen: String,
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
    },
    /// actix-web with nothing of Gatehouse: two workers answering `GET /healthz` with its
    /// constant body. Section 12's floor for any server built on this HTTP stack.
    Constant {
        #[arg(long)]
        listen: String,
    },
}

/// What the scenarios that work through a file of tokens share: the server, the file (one
/// token a line) and how many loops.
#[derive(clap::Args)]
struct TokenRun {
    #[arg(long)]
    base: String,
    #[arg(long)]
    tokens: String,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

fn main() {
    let cli = Cli::parse();
    if let Scenario::Partner { listen, delay_ms } = cli.scenario {
        actix_web::rt::System::new()
            .block_on(partner(listen, delay_ms))
            .expect("the partner stand-in");
        return;
    }
    if let Scenario::Constant { listen } = cli.scenario {
        actix_web::rt::System::new()
            .block_on(constant(listen))
            .expect("the constant answer");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let report = runtime.block_on(async move {
        match cli.scenario {
            Scenario::Bcrypt { cost, rounds } => bcrypt_verify_ms(cost, rounds),
            Scenario::Captcha { count } => captcha_render_us(count),
            Scenario::Signin {
                base,
                accounts: file,
                concurrency,
                seconds,
                forwarded_for,
                honour_retry_after,
            } => {
                sign_in_storm(
                    base,
                    accounts(&file),
                    concurrency,
                    seconds,
                    forwarded_for,
                    honour_retry_after,
                )
                .await
            }
            Scenario::Sessions {
                base,
                accounts: file,
                count,
                concurrency,
                callbacks,
                out,
            } => make_sessions(base, accounts(&file), count, concurrency, callbacks, out).await,
            Scenario::Signout { run } => {
                sign_out(run.base, lines(&run.tokens), run.concurrency).await
            }
            Scenario::Refresh { run, seconds } => {
                refresh(run.base, lines(&run.tokens), run.concurrency, seconds).await
            }
            Scenario::Probe {
                base,
                path,
                token,
                rate,
                seconds,
                timeout_ms,
            } => {
                probe(
                    base,
                    path,
                    token,
                    rate,
                    seconds,
                    Duration::from_millis(timeout_ms),
                )
                .await
            }
            Scenario::OidcRoundTrip {
                rt,
                concurrency,
                seconds,
            } => round_trips(rt, concurrency, seconds).await,
            Scenario::RedirectRoundTrip {
                r,
                concurrency,
                seconds,
            } => redirect_round_trips(r, concurrency, seconds).await,
            Scenario::Mixed {
                m,
                concurrency,
                seconds,
            } => mixed(m, concurrency, seconds).await,
            Scenario::Partner { .. } | Scenario::Constant { .. } => {
                unreachable!("handled above")
            }
        }
    });
    println!("{report}");
}
