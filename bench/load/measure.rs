//! Counting and timing: latencies, tallies, the loops every scenario runs, and reading the account and token files.

use super::*;

/// Latencies in microseconds, summarised.
#[derive(Default)]
pub(crate) struct Latencies(pub(crate) Vec<u64>);

impl Latencies {
    pub(crate) fn push(&mut self, since: Instant) {
        self.0.push(since.elapsed().as_micros() as u64);
    }

    pub(crate) fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    pub(crate) fn summary(mut self) -> Value {
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

pub(crate) fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        // Under the server's 5 s keep-alive: a loop that waited out a `Retry-After` of 5 s
        // would otherwise send on a connection the server is closing just then, and fail.
        .pool_idle_timeout(Duration::from_secs(4))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

pub(crate) fn accounts(path: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("the accounts file");
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, p)| (n.to_owned(), p.to_owned()))
        .collect()
}

pub(crate) fn lines(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("the tokens file");
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `data` of an envelope, or why there is none.
pub(crate) async fn data(res: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
    let res = res.map_err(|e| e.to_string())?;
    let status = res.status();
    let body: Value = res.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body["data"].clone())
    } else {
        Err(format!("{status} {}", body["data"]["error"]))
    }
}

#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) ok: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) errors: std::sync::Mutex<HashMap<String, u64>>,
}

impl Tally {
    pub(crate) fn record<T>(&self, result: &Result<T, String>) {
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

    pub(crate) fn json(&self, elapsed: Duration, latencies: Latencies) -> Value {
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

/// A signed-in browser's first step: `GET url` with its `cookie`, and the parameter `name` of
/// the redirect's query (a code, a token, a ticket).
pub(crate) async fn redirected_param(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    name: &str,
) -> Result<String, String> {
    let res = http
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("{url} answered {} without a redirect", res.status()))?
        .to_owned();
    url::Url::parse(&location)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
        .ok_or_else(|| format!("no {name} in {location}"))
}

/// Browser round trips (a redirect read, then back-end calls) from `concurrency` loops for
/// `seconds`: one HTTP client for all, following no redirect, since each step reads its own.
pub(crate) async fn round_trip_loops<A, F, Fut>(
    args: A,
    concurrency: usize,
    seconds: f64,
    step: F,
) -> Value
where
    A: Send + Sync + 'static,
    F: Fn(reqwest::Client, Arc<A>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .pool_idle_timeout(Duration::from_secs(4))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let args = Arc::new(args);
    let step = Arc::new(step);
    loops(concurrency, Some(seconds), move |_| {
        let next = step(http.clone(), args.clone());
        async move { Some(next.await) }
    })
    .await
}

/// Runs `concurrency` loops of `step` until `deadline` (or until `step` says stop) and
/// reports throughput and latency.
pub(crate) async fn loops<F, Fut>(concurrency: usize, seconds: Option<f64>, step: F) -> Value
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

pub(crate) const WARM_UP: Duration = Duration::from_secs(2);
