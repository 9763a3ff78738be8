//! The SMS gateway stand-in every test server sends its codes to.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::serve_every_path;

/// A webhook receiver standing in for an SMS gateway.
#[derive(Clone)]
pub struct SmsSink {
    pub url: String,
    pub received: Arc<Mutex<Vec<Value>>>,
}

impl SmsSink {
    pub fn start() -> Self {
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let store = received.clone();
        serve_every_path(listener, move || {
            let store = store.clone();
            actix_web::web::to(move |body: actix_web::web::Json<Value>| {
                let store = store.clone();
                async move {
                    store.lock().unwrap().push(body.into_inner());
                    actix_web::HttpResponse::Ok().finish()
                }
            })
        });
        SmsSink {
            url: format!("http://127.0.0.1:{port}/sms"),
            received,
        }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The last code sent to `phone` (as the server normalised it).
    pub fn last_code(&self, phone: &str) -> Option<String> {
        let want = phone.trim_start_matches("+86");
        self.received
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["phone"].as_str() == Some(want))
            .and_then(|m| m["code"].as_str().map(str::to_owned))
    }
}
