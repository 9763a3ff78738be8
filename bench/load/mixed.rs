//! A busy site's mix, flat out (issue 17 §6): every loop is one person on one keep-alive
//! connection, signed in, doing in turn what people and partners do most: token checks, reads
//! of their account, refreshes, a partner recording the session, and now and then signing out
//! and in again. Each kind of request gets its own latency summary.

use super::*;

/// One loop's round of twenty requests: 12 token checks, 3 account reads, 2 refreshes,
/// 1 partner record, 1 sign-out and 1 sign-in.
const ROUND: [Op; 20] = {
    use Op::*;
    [
        Check, Read, Check, Refresh, Check, Check, Record, Check, Read, Check, Check, Refresh,
        Check, Check, Read, Check, SignOut, SignIn, Check, Check,
    ]
};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Op {
    /// `GET /token`.
    Check,
    /// `GET /users/token`: the account, from the database.
    Read,
    /// `GET /users/token/refresh`.
    Refresh,
    /// `POST /token` with the partner's Basic credentials and its callback.
    Record,
    /// `PATCH /users/signout`.
    SignOut,
    /// `POST /users/signin` with a fresh captcha.
    SignIn,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Check => "token_check",
            Op::Read => "account_read",
            Op::Refresh => "refresh",
            Op::Record => "partner_record",
            Op::SignOut => "sign_out",
            Op::SignIn => "sign_in",
        }
    }
}

#[derive(clap::Args)]
pub(crate) struct Mix {
    #[arg(long)]
    base: String,
    #[arg(long)]
    accounts: String,
    /// The partner that records sessions: its callback URL, client id and secret.
    #[arg(long)]
    callback: String,
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    client_secret: String,
    /// Seconds the loops run before the clock starts. The barrier releases every loop at the
    /// same instant, so their first requests land together: 1,000 at once, a burst no site
    /// sees. Timed, that one burst set the account read's p99 (every read over 20 ms of a
    /// run began in its first 250 ms), so it is summarised apart, as `start`.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
}

async fn step(
    http: &reqwest::Client,
    m: &Mix,
    account: &(String, String),
    token: &mut String,
    op: Op,
) -> Result<(), String> {
    let base = &m.base;
    match op {
        Op::Check => {
            let sent = http
                .get(format!("{base}/token"))
                .bearer_auth(&*token)
                .send()
                .await;
            data(sent).await.map(|_| ())
        }
        Op::Read => {
            let sent = http
                .get(format!("{base}/users/token"))
                .bearer_auth(&*token)
                .send()
                .await;
            data(sent).await.map(|_| ())
        }
        Op::Refresh => {
            let sent = http
                .get(format!("{base}/users/token/refresh"))
                .header("token", token.as_str())
                .send()
                .await;
            let fresh = data(sent).await?;
            *token = fresh.as_str().ok_or("no token")?.to_owned();
            Ok(())
        }
        Op::Record => {
            let form = [("token", token.as_str()), ("callback_url", &m.callback)];
            let sent = http
                .post(format!("{base}/token"))
                .basic_auth(&m.client_id, Some(&m.client_secret))
                .form(&form)
                .send()
                .await;
            data(sent).await.map(|_| ())
        }
        Op::SignOut => {
            let sent = http
                .patch(format!("{base}/users/signout"))
                .bearer_auth(&*token)
                .send()
                .await;
            data(sent).await.map(|_| ())
        }
        Op::SignIn => {
            *token = sign_in(http, base, &account.0, &account.1).await?;
            Ok(())
        }
    }
}

/// Signs in and checks the token once, not timed. 1,000 loops asking at once fill the captcha
/// lane: a 503 is waited out and tried again.
async fn prepare(
    http: &reqwest::Client,
    m: &Mix,
    account: &(String, String),
) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..100 {
        match sign_in(http, &m.base, &account.0, &account.1).await {
            Ok(mut token) => {
                step(http, m, account, &mut token, Op::Check).await?;
                return Ok(token);
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

/// Every loop signs in and checks its token first, all at once and not timed, so each has its
/// keep-alive connection open; the loops start together when the last one is ready, and the
/// clock `warmup` seconds later. Opening the 1,000 connections inside the measured window put
/// every slow read of a run in its first half second (706 reads over 100 ms, all started in
/// the first 500 ms), which measured the load generator's connection storm rather than the
/// server under a steady load; the loops' shared first step did the same on a smaller scale.
pub(crate) async fn mixed(m: Mix, concurrency: usize, seconds: f64) -> Value {
    let http = client(concurrency);
    let accounts = Arc::new(accounts(&m.accounts));
    let m = Arc::new(m);
    let ready = Arc::new(tokio::sync::Barrier::new(concurrency + 1));
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (http, m, accounts, ready) =
                (http.clone(), m.clone(), accounts.clone(), ready.clone());
            tokio::spawn(async move {
                let account = &accounts[worker % accounts.len()];
                let prepared = prepare(&http, &m, account).await;
                // Past the barrier even when it failed: the others would wait for ever.
                ready.wait().await;
                let mut token = prepared.expect("every loop signs in before the run");
                let timed_from = Instant::now() + Duration::from_secs_f64(m.warmup);
                let deadline = timed_from + Duration::from_secs_f64(seconds);
                let mut by_op: HashMap<Op, (Latencies, u64)> = HashMap::new();
                let mut at_start: HashMap<Op, (Latencies, u64)> = HashMap::new();
                let mut errors: HashMap<String, u64> = HashMap::new();
                // Loops start at different places in the round, as people do.
                let mut at = worker % ROUND.len();
                while Instant::now() < deadline {
                    let op = ROUND[at];
                    at = (at + 1) % ROUND.len();
                    let t = Instant::now();
                    let result = step(&http, &m, account, &mut token, op).await;
                    let window = if t < timed_from {
                        &mut at_start
                    } else {
                        &mut by_op
                    };
                    let entry = window.entry(op).or_default();
                    match result {
                        Ok(()) => entry.0.push(t),
                        Err(e) => {
                            entry.1 += 1;
                            *errors.entry(format!("{}: {e}", op.name())).or_default() += 1;
                            // A loop whose token went bad signs in again.
                            if let Ok(fresh) = sign_in(&http, &m.base, &account.0, &account.1).await
                            {
                                token = fresh;
                            }
                        }
                    }
                }
                (by_op, at_start, errors)
            })
        })
        .collect();
    ready.wait().await;
    let timed_from = Instant::now() + Duration::from_secs_f64(m.warmup);
    let mut by_op: HashMap<Op, (Latencies, u64)> = HashMap::new();
    let mut at_start: HashMap<Op, (Latencies, u64)> = HashMap::new();
    let mut errors: HashMap<String, u64> = HashMap::new();
    for task in tasks {
        let (ops, start, errs) = task.await.expect("a load loop");
        merge(&mut by_op, ops);
        merge(&mut at_start, start);
        for (e, n) in errs {
            *errors.entry(e).or_default() += n;
        }
    }
    let elapsed = timed_from.elapsed().as_secs_f64();
    json!({
        "ops": summaries(by_op, elapsed),
        "start": summaries(at_start, m.warmup),
        "errors": errors,
        "seconds": elapsed,
        "warmup_seconds": m.warmup,
        "connections": concurrency,
    })
}

fn merge(into: &mut HashMap<Op, (Latencies, u64)>, from: HashMap<Op, (Latencies, u64)>) {
    for (op, (latencies, failed)) in from {
        let entry = into.entry(op).or_default();
        entry.0.extend(latencies);
        entry.1 += failed;
    }
}

/// Each kind of request's latency summary, with its rate over `seconds`.
fn summaries(by_op: HashMap<Op, (Latencies, u64)>, seconds: f64) -> serde_json::Map<String, Value> {
    let mut report = serde_json::Map::new();
    for (op, (latencies, failed)) in by_op {
        let ok = latencies.0.len();
        let mut summary = latencies.summary();
        summary["per_sec"] = json!(ok as f64 / seconds);
        summary["failed"] = json!(failed);
        report.insert(op.name().to_owned(), summary);
    }
    report
}
