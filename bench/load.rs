//! The load generator behind `bench/run`, for the scenarios `wrk` cannot express: a fresh
//! captcha for every password sign-in, refresh chains (each refresh replaces the token it
//! used), one sign-out per session, an open-loop probe that keeps its rate while the server is
//! busy, and a stand-in partner that receives back-channel logouts after a chosen delay.
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
        #[arg(long)]
        base: String,
        #[arg(long)]
        tokens: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Refresh chains: every loop refreshes its token and continues with the new one.
    Refresh {
        #[arg(long)]
        base: String,
        #[arg(long)]
        tokens: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Open loop: `GET PATH` with TOKEN at a fixed RATE per second.
    Probe {
        #[arg(long)]
        base: String,
        #[arg(long, default_value = "/token")]
        path: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 500)]
        rate: u64,
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

/// One password sign-in with a fresh captcha (answers come from GATEHOUSE_CAPTCHA_TEST_ANSWERS).
async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    number: &str,
    pwd: &str,
) -> Result<String, String> {
    let captcha = data(http.get(format!("{base}/client_code")).send().await).await?;
    let body = json!({
        "number": number,
        "pwd": pwd,
        "captcha_id": captcha["captcha_id"],
        "client_code": captcha["answer"],
    });
    let token = data(
        http.post(format!("{base}/users/signin"))
            .json(&body)
            .send()
            .await,
    )
    .await?;
    token
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no token".into())
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
async fn probe(base: String, path: String, token: String, rate: u64, seconds: f64) -> Value {
    let http = client(64);
    let url = format!("{base}{path}");
    let total = (rate as f64 * seconds) as u64;
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (http, url, token, tally) = (http.clone(), url.clone(), token.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let result = data(http.get(&url).bearer_auth(token).send().await).await;
            let latency = due.elapsed().as_micros() as u64;
            tally.record(&result);
            latency
        }));
    }
    let mut all = Latencies::default();
    for task in tasks {
        all.0.push(task.await.expect("a probe"));
    }
    tally.json(started.elapsed(), all)
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
            } => {
                let http = client(concurrency);
                let accounts = Arc::new(accounts(&file));
                loops(concurrency, Some(seconds), move |worker| {
                    let (http, base, accounts) = (http.clone(), base.clone(), accounts.clone());
                    async move {
                        let (number, pwd) = &accounts[worker % accounts.len()];
                        Some(sign_in(&http, &base, number, pwd).await.map(|_| ()))
                    }
                })
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
            Scenario::Signout {
                base,
                tokens,
                concurrency,
            } => sign_out(base, lines(&tokens), concurrency).await,
            Scenario::Refresh {
                base,
                tokens,
                concurrency,
                seconds,
            } => refresh(base, lines(&tokens), concurrency, seconds).await,
            Scenario::Probe {
                base,
                path,
                token,
                rate,
                seconds,
            } => probe(base, path, token, rate, seconds).await,
            Scenario::Partner { .. } => unreachable!("handled above"),
        }
    });
    println!("{report}");
}
