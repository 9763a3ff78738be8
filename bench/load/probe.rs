//! The open-loop probe and the stand-in partner that takes back-channel logouts.

use super::*;

/// Fixed-rate probe: request `i` is due at `start + i / rate`, and its latency counts from then.
/// A request still unanswered `timeout` after it was due counts as `timeout` and as a timeout.
pub(crate) async fn probe(
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

pub(crate) async fn partner(listen: String, delay_ms: u64) -> std::io::Result<()> {
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

/// `GET /healthz`'s body from actix-web alone: no middleware, no logging, no metrics.
pub(crate) async fn constant(listen: String) -> std::io::Result<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    const BODY: &str = r#"{"code":200,"message":"ok","data":{"status":"up"},"total":0}"#;
    HttpServer::new(|| {
        App::new().route(
            "/healthz",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(BODY)
            }),
        )
    })
    .workers(2)
    .bind(listen)?
    .run()
    .await
}
