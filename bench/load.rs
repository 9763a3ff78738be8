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
    /// A partner's back-channel logout endpoint: `POST /logout/{n}` answers 200 after
    /// DELAY_MS; `GET /count` tells how many each `n` received.
    Partner {
        #[arg(long)]
        listen: String,
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
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

/// Latencies in microseconds, summarised.
#[derive(Default)]
struct Latencies(Vec<u64>);

impl Latencies {
    fn push(&mut self, since: Instant) {
        self.0.push(since.elapsed().as_micros() as u64);
    }

    fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    fn summary(mut self) -> Value {
        self.0.sort_unstable();
        let at = |q: f64| -> f64 {
            if self.0.is_empty() {
                return 0.0;
            }
            let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
            self.0[i] as f64 / 1000.0
        };
        json!({
            "count": self.0.len(),
            "p50_ms": at(0.50),
            "p90_ms": at(0.90),
            "p99_ms": at(0.99),
            "max_ms": at(1.0),
        })
    }
}

fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        // Under the server's 5 s keep-alive: a loop that waited out a `Retry-After` of 5 s
        // would otherwise send on a connection the server is closing just then, and fail.
        .pool_idle_timeout(Duration::from_secs(4))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

fn accounts(path: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("the accounts file");
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, p)| (n.to_owned(), p.to_owned()))
        .collect()
}

fn lines(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("the tokens file");
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `data` of an envelope, or why there is none.
async fn data(res: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
    let res = res.map_err(|e| e.to_string())?;
    let status = res.status();
    let body: Value = res.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body["data"].clone())
    } else {
        Err(format!("{status} {}", body["data"]["error"]))
    }
}

/// Why a sign-in did not happen.
enum Refused {
    /// 503 `unavailable` from `POST /users/signin` (the bcrypt queue is full), with its
    /// `Retry-After` in seconds if it had one, and how long the refusal took.
    Busy(Option<u64>, Duration),
    Other(String),
}

/// One password sign-in with a fresh captcha (answers come from GATEHOUSE_CAPTCHA_TEST_ANSWERS).
async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    number: &str,
    pwd: &str,
) -> Result<String, String> {
    sign_in_as(http, base, number, pwd, None)
        .await
        .map_err(|refused| match refused {
            Refused::Busy(..) => "503 \"unavailable\"".to_owned(),
            Refused::Other(e) => e,
        })
}

/// A sign-in, optionally from `forwarded_for` behind a proxy, telling a full bcrypt queue
/// apart from other refusals.
async fn sign_in_as(
    http: &reqwest::Client,
    base: &str,
    number: &str,
    pwd: &str,
    forwarded_for: Option<&str>,
) -> Result<String, Refused> {
    let with_ip = |req: reqwest::RequestBuilder| match forwarded_for {
        Some(ip) => req.header("X-Forwarded-For", ip),
        None => req,
    };
    let captcha = data(
        with_ip(http.get(format!("{base}/client_code")))
            .send()
            .await,
    )
    .await
    .map_err(|e| Refused::Other(format!("captcha: {e}")))?;
    let body = json!({
        "number": number,
        "pwd": pwd,
        "captcha_id": captcha["captcha_id"],
        "client_code": captcha["answer"],
    });
    let sent = Instant::now();
    let res = with_ip(http.post(format!("{base}/users/signin")).json(&body))
        .send()
        .await;
    if let Ok(r) = &res
        && r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE
    {
        let retry_after = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let res = res.expect("checked above");
        let body: Value = res.json().await.unwrap_or_default();
        if body["data"]["error"] == "unavailable" {
            return Err(Refused::Busy(retry_after, sent.elapsed()));
        }
        return Err(Refused::Other(format!("503 {}", body["data"]["error"])));
    }
    let token = data(res).await.map_err(Refused::Other)?;
    token
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Refused::Other("no token".into()))
}

/// Refusals of a storm: when each came, how long it took, and its `Retry-After`.
#[derive(Default)]
struct Refusals {
    at: Vec<Instant>,
    took: Latencies,
    retry_after: Vec<Option<u64>>,
}

/// `concurrency` loops of password sign-ins for `seconds`; a full bcrypt queue's refusals
/// are reported apart (`busy`), never as sign-ins.
async fn sign_in_storm(
    base: String,
    accounts: Vec<(String, String)>,
    concurrency: usize,
    seconds: f64,
    forwarded_for: bool,
    honour_retry_after: bool,
) -> Value {
    let http = client(concurrency);
    let accounts = Arc::new(accounts);
    let refusals = Arc::new(std::sync::Mutex::new(Refusals::default()));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let seen = refusals.clone();
    let mut report = loops(concurrency, Some(seconds), move |worker| {
        let (http, base, accounts, refusals) =
            (http.clone(), base.clone(), accounts.clone(), seen.clone());
        async move {
            let (number, pwd) = &accounts[worker % accounts.len()];
            let ip = forwarded_for.then(|| format!("10.1.{}.{}", worker / 250, worker % 250 + 1));
            match sign_in_as(&http, &base, number, pwd, ip.as_deref()).await {
                Ok(_) => Some(Ok(())),
                Err(Refused::Busy(retry_after, took)) => {
                    {
                        let mut r = refusals.lock().unwrap_or_else(|p| p.into_inner());
                        r.at.push(Instant::now());
                        r.took.0.push(took.as_micros() as u64);
                        r.retry_after.push(retry_after);
                    }
                    if honour_retry_after && let Some(secs) = retry_after {
                        let until = (Instant::now() + Duration::from_secs(secs)).min(deadline);
                        tokio::time::sleep_until(until.into()).await;
                    }
                    let why = match retry_after {
                        Some(_) => "503 \"unavailable\" with Retry-After",
                        None => "503 \"unavailable\" without Retry-After",
                    };
                    Some(Err(why.to_owned()))
                }
                Err(Refused::Other(e)) => Some(Err(e)),
            }
        }
    })
    .await;
    let refusals = std::mem::take(&mut *refusals.lock().unwrap_or_else(|p| p.into_inner()));
    let started = deadline - Duration::from_secs_f64(seconds);
    let from = started + WARM_UP;
    let steady = refusals
        .at
        .iter()
        .filter(|t| **t >= from && **t <= deadline)
        .count();
    let hinted: Vec<u64> = refusals.retry_after.iter().flatten().copied().collect();
    let busy = refusals.at.len() as u64;
    report["busy"] = json!(busy);
    report["busy_without_retry_after"] = json!(busy - hinted.len() as u64);
    report["busy_steady_per_sec"] = json!(if deadline > from {
        steady as f64 / (deadline - from).as_secs_f64()
    } else {
        0.0
    });
    report["busy_latency"] = refusals.took.summary();
    report["retry_after_min"] = json!(hinted.iter().min());
    report["retry_after_max"] = json!(hinted.iter().max());
    // Failures other than a full queue: anything that is not a sign-in or a 503 `unavailable`.
    report["other_failed"] = json!(report["failed"].as_u64().unwrap_or(0) - busy);
    report
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    errors: std::sync::Mutex<HashMap<String, u64>>,
}

impl Tally {
    fn record<T>(&self, result: &Result<T, String>) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
                *errors.entry(e.clone()).or_default() += 1;
            }
        }
    }

    fn json(&self, elapsed: Duration, latencies: Latencies) -> Value {
        let ok = self.ok.load(Ordering::Relaxed);
        let errors = self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        json!({
            "ok": ok,
            "failed": self.failed.load(Ordering::Relaxed),
            "errors": errors,
            "seconds": elapsed.as_secs_f64(),
            "per_sec": ok as f64 / elapsed.as_secs_f64(),
            "latency": latencies.summary(),
        })
    }
}

/// Runs `concurrency` loops of `step` until `deadline` (or until `step` says stop) and
/// reports throughput and latency.
async fn loops<F, Fut>(concurrency: usize, seconds: Option<f64>, step: F) -> Value
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Result<(), String>>> + Send,
{
    let step = Arc::new(step);
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let deadline = seconds.map(|s| started + Duration::from_secs_f64(s));
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (step, tally) = (step.clone(), tally.clone());
            tokio::spawn(async move {
                let mut latencies = Latencies::default();
                let mut done = Vec::new();
                while deadline.is_none_or(|d| Instant::now() < d) {
                    let t = Instant::now();
                    let Some(result) = step(worker).await else {
                        break;
                    };
                    if result.is_ok() {
                        latencies.push(t);
                        done.push(Instant::now());
                    }
                    tally.record(&result);
                }
                (latencies, done)
            })
        })
        .collect();
    let mut all = Latencies::default();
    let mut done = Vec::new();
    for task in tasks {
        let (latencies, finished) = task.await.expect("a load loop");
        all.extend(latencies);
        done.extend(finished);
    }
    let mut report = tally.json(started.elapsed(), all);
    // Steady state for timed runs: completions from WARM_UP after the start until the
    // deadline, without the ramp-up (queues filling) and the drain after the deadline.
    if let Some(deadline) = deadline {
        let from = started + WARM_UP;
        if deadline > from {
            let steady = done
                .iter()
                .filter(|t| **t >= from && **t <= deadline)
                .count();
            report["steady_per_sec"] = json!(steady as f64 / (deadline - from).as_secs_f64());
        }
    }
    report
}

const WARM_UP: Duration = Duration::from_secs(2);

fn captcha_render_us(count: usize) -> Value {
    let mut rng = rand::rng();
    let started = Instant::now();
    let bytes: usize = (0..count)
        .map(|_| {
            gatehouse::captcha::render::render_png(&gatehouse::captcha::random_answer(), &mut rng)
                .len()
        })
        .sum();
    let per = started.elapsed().as_secs_f64() * 1e6 / count as f64;
    json!({ "render_us": per, "png_bytes": bytes / count.max(1) })
}

fn bcrypt_verify_ms(cost: u32, rounds: usize) -> Value {
    let hash = bcrypt::hash("Bench-Password-2026", cost).expect("bcrypt hash");
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            let ok = bcrypt::verify("Bench-Password-2026", &hash).expect("bcrypt verify");
            assert!(ok);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    json!({ "cost": cost, "verify_ms": times[times.len() / 2] })
}

async fn make_sessions(
    base: String,
    accounts: Vec<(String, String)>,
    count: usize,
    concurrency: usize,
    callbacks: Vec<String>,
    out: String,
) -> Value {
    let http = client(concurrency);
    let next = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(std::sync::Mutex::new(Vec::with_capacity(count)));
    let (accounts, callbacks) = (Arc::new(accounts), Arc::new(callbacks));
    let sink = tokens.clone();
    let report = loops(concurrency, None, move |_| {
        let (http, base, next, accounts, callbacks, sink) = (
            http.clone(),
            base.clone(),
            next.clone(),
            accounts.clone(),
            callbacks.clone(),
            sink.clone(),
        );
        async move {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                return None;
            }
            let (number, pwd) = &accounts[i % accounts.len()];
            let made = async {
                let token = sign_in(&http, &base, number, pwd).await?;
                for callback in callbacks.iter() {
                    let body = json!({ "token": token, "callback_url": callback });
                    data(http.post(format!("{base}/token")).json(&body).send().await).await?;
                }
                if callbacks.is_empty() {
                    data(
                        http.get(format!("{base}/token"))
                            .bearer_auth(&token)
                            .send()
                            .await,
                    )
                    .await?;
                }
                Ok(token)
            }
            .await;
            Some(made.map(|token| {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(token);
            }))
        }
    })
    .await;
    let tokens = tokens.lock().unwrap_or_else(|p| p.into_inner());
    std::fs::write(&out, tokens.join("\n")).expect("writing the tokens");
    report
}

async fn sign_out(base: String, tokens: Vec<String>, concurrency: usize) -> Value {
    let http = client(concurrency);
    let next = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(tokens);
    loops(concurrency, None, move |_| {
        let (http, base, next, tokens) = (http.clone(), base.clone(), next.clone(), tokens.clone());
        async move {
            let token = tokens.get(next.fetch_add(1, Ordering::Relaxed))?;
            let sent = http
                .patch(format!("{base}/users/signout"))
                .bearer_auth(token)
                .send()
                .await;
            Some(data(sent).await.map(|_| ()))
        }
    })
    .await
}

async fn refresh(base: String, tokens: Vec<String>, concurrency: usize, seconds: f64) -> Value {
    let http = client(concurrency);
    let chains: Arc<Vec<tokio::sync::Mutex<String>>> = Arc::new(
        tokens
            .into_iter()
            .take(concurrency)
            .map(tokio::sync::Mutex::new)
            .collect(),
    );
    assert_eq!(chains.len(), concurrency, "one token per refresh chain");
    loops(concurrency, Some(seconds), move |worker| {
        let (http, base, chains) = (http.clone(), base.clone(), chains.clone());
        async move {
            let mut token = chains[worker].lock().await;
            let sent = http
                .get(format!("{base}/users/token/refresh"))
                .header("token", token.as_str())
                .send()
                .await;
            Some(data(sent).await.and_then(|fresh| {
                *token = fresh.as_str().ok_or("no token")?.to_owned();
                Ok(())
            }))
        }
    })
    .await
}

/// Fixed-rate probe: request `i` is due at `start + i / rate`, and its latency counts from then.
/// A request still unanswered `timeout` after it was due counts as `timeout` and as a timeout.
async fn probe(
    base: String,
    path: String,
    token: Option<String>,
    rate: u64,
    seconds: f64,
    timeout: Duration,
) -> Value {
    let http = client(64);
    let url = format!("{base}{path}");
    let total = (rate as f64 * seconds) as u64;
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    let timeouts = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (http, url, token, tally, timeouts) = (
            http.clone(),
            url.clone(),
            token.clone(),
            tally.clone(),
            timeouts.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut req = http.get(&url);
            if let Some(token) = &token {
                req = req.bearer_auth(token);
            }
            let answered = async {
                let res = req.send().await.map_err(|e| e.to_string())?;
                let status = res.status();
                let body = res.bytes().await.map_err(|e| e.to_string())?;
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!(
                        "{status} {}",
                        String::from_utf8_lossy(&body[..body.len().min(120)])
                    ))
                }
            };
            match tokio::time::timeout_at((due + timeout).into(), answered).await {
                Ok(result) => {
                    tally.record(&result);
                    due.elapsed().as_micros() as u64
                }
                Err(_) => {
                    timeouts.fetch_add(1, Ordering::Relaxed);
                    timeout.as_micros() as u64
                }
            }
        }));
    }
    let mut all = Latencies::default();
    for task in tasks {
        all.0.push(task.await.expect("a probe"));
    }
    let mut report = tally.json(started.elapsed(), all);
    report["timeouts"] = json!(timeouts.load(Ordering::Relaxed));
    report
}

async fn partner(listen: String, delay_ms: u64) -> std::io::Result<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..16).map(|_| AtomicU64::new(0)).collect());
    let delay = Duration::from_millis(delay_ms);
    HttpServer::new(move || {
        let counts = counts.clone();
        let seen = counts.clone();
        App::new()
            .route(
                "/logout/{n}",
                web::post().to(move |n: web::Path<usize>, body: web::Bytes| {
                    let counts = counts.clone();
                    async move {
                        tokio::time::sleep(delay).await;
                        let valid = std::str::from_utf8(&body)
                            .is_ok_and(|b| b.starts_with("logout_token="));
                        match counts.get(*n) {
                            Some(c) if valid => {
                                c.fetch_add(1, Ordering::Relaxed);
                                HttpResponse::Ok().finish()
                            }
                            _ => HttpResponse::BadRequest().finish(),
                        }
                    }
                }),
            )
            .route(
                "/count",
                web::get().to(move || {
                    let seen = seen.clone();
                    async move {
                        let counts: Vec<u64> =
                            seen.iter().map(|c| c.load(Ordering::Relaxed)).collect();
                        HttpResponse::Ok().json(counts)
                    }
                }),
            )
    })
    .workers(1)
    .max_connections(100_000)
    .bind(listen)?
    .run()
    .await
}

fn main() {
    let cli = Cli::parse();
    if let Scenario::Partner { listen, delay_ms } = cli.scenario {
        actix_web::rt::System::new()
            .block_on(partner(listen, delay_ms))
            .expect("the partner stand-in");
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
            Scenario::Partner { .. } => unreachable!("handled above"),
        }
    });
    println!("{report}");
}
