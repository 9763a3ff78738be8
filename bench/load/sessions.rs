//! Sessions made ahead, then ended one by one or refreshed in chains.

use super::*;

pub(crate) async fn make_sessions(
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

pub(crate) async fn sign_out(base: String, tokens: Vec<String>, concurrency: usize) -> Value {
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

pub(crate) async fn refresh(
    base: String,
    tokens: Vec<String>,
    concurrency: usize,
    seconds: f64,
) -> Value {
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
