//! The sign-in scenarios: one password sign-in with a fresh captcha, and the storm of many.

use super::*;

/// Why a sign-in did not happen.
pub(crate) enum Refused {
    /// 503 `unavailable` from `POST /users/signin` (the bcrypt queue is full), with its
    /// `Retry-After` in seconds if it had one, and how long the refusal took.
    Busy(Option<u64>, Duration),
    Other(String),
}

/// One password sign-in with a fresh captcha (answers come from GATEHOUSE_CAPTCHA_TEST_ANSWERS).
pub(crate) async fn sign_in(
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
pub(crate) async fn sign_in_as(
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
pub(crate) struct Refusals {
    at: Vec<Instant>,
    took: Latencies,
    retry_after: Vec<Option<u64>>,
}

/// `concurrency` loops of password sign-ins for `seconds`; a full bcrypt queue's refusals
/// are reported apart (`busy`), never as sign-ins.
pub(crate) async fn sign_in_storm(
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
