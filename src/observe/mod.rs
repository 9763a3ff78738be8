//! What the service is doing, for operators' monitoring (CONTRACT §9): Prometheus metrics in
//! a registry of each server's own (`health::metrics` serves them), and the log writer.
//!
//! Counted as things happen: requests per route template, method and status with their
//! latency (`http`), sign-in outcomes, limits and lockouts hit, captchas, codes sent, database
//! calls. Set when scraped, from `Readings`: single-logout deliveries per state and each
//! partner's backlog, live sessions, blocking-lane jobs. No label ever holds a user id,
//! number, e-mail address or token: labels are route templates, methods, statuses, reasons,
//! partners' client ids and fixed names.

pub mod access;
mod handoff;
pub mod http;
pub mod logging;
pub mod request_id;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::error::{ApiError, ApiResult};

/// Latency buckets in seconds: 0.25 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// How a person signed in, as the metrics and the audit trail name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigninMethod {
    /// A password, typed or sent as `word-info`.
    Password,
    Code,
    Wechat,
}

impl SigninMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SigninMethod::Password => "password",
            SigninMethod::Code => "code",
            SigninMethod::Wechat => "wechat",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    templates: http::Templates,
    pub(crate) http_requests: IntCounterVec,
    pub(crate) http_duration: HistogramVec,
    signins: IntCounterVec,
    limits: IntCounterVec,
    codes: IntCounterVec,
    captchas: IntCounterVec,
    deliveries: IntGaugeVec,
    backlog: IntGaugeVec,
    oldest_pending: IntGaugeVec,
    sessions_live: IntGauge,
    lane_jobs: IntGaugeVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
    registry.register(Box::new(c.clone())).expect("one of each");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid metric");
    registry.register(Box::new(g.clone())).expect("one of each");
    g
}

/// A latency histogram in seconds.
pub fn histogram(name: &str, help: &str) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()))
        .expect("a valid metric")
}

impl Metrics {
    /// The registry with every metric, and `extra` ones made elsewhere (the database's).
    pub fn new(extra: Vec<Box<dyn prometheus::core::Collector>>) -> Self {
        let r = Registry::new();
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "gatehouse_http_request_duration_seconds",
                "Time to answer a request, by route template, method and status",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "method", "status"],
        )
        .expect("a valid metric");
        r.register(Box::new(http_duration.clone()))
            .expect("one of each");
        for c in extra {
            r.register(c).expect("one of each");
        }
        let sessions_live = IntGauge::new(
            "gatehouse_sessions_live",
            "Sessions not ended and not expired",
        )
        .expect("a valid metric");
        r.register(Box::new(sessions_live.clone()))
            .expect("one of each");
        Metrics {
            http_requests: counter(
                &r,
                "gatehouse_http_requests_total",
                "Requests answered, by route template, method and status",
                &["route", "method", "status"],
            ),
            http_duration,
            signins: counter(
                &r,
                "gatehouse_signins_total",
                "Sign-in attempts by method and outcome (success or the refusal's reason)",
                &["method", "outcome"],
            ),
            limits: counter(
                &r,
                "gatehouse_limit_hits_total",
                "Requests refused by a limit: sign-in lockouts and budgets, code sends, breakers",
                &["limit"],
            ),
            codes: counter(
                &r,
                "gatehouse_codes_sent_total",
                "Verification codes handed to a channel, by channel and provider result",
                &["channel", "result"],
            ),
            captchas: counter(
                &r,
                "gatehouse_captchas_total",
                "Image captchas issued, solved and failed",
                &["outcome"],
            ),
            deliveries: gauge(
                &r,
                "gatehouse_logout_deliveries",
                "Single-logout deliveries by state",
                &["state"],
            ),
            backlog: gauge(
                &r,
                "gatehouse_logout_backlog",
                "Pending single-logout deliveries of each partner that has any",
                &["client_id"],
            ),
            oldest_pending: gauge(
                &r,
                "gatehouse_logout_oldest_pending_seconds",
                "How long each partner's oldest pending delivery has waited",
                &["client_id"],
            ),
            sessions_live,
            lane_jobs: gauge(
                &r,
                "gatehouse_lane_jobs",
                "Jobs running or queued in each blocking lane (bcrypt, captcha, rsa)",
                &["lane"],
            ),
            registry: r,
            templates: http::Templates::default(),
        }
    }

    /// Counts a sign-in attempt's outcome.
    pub fn signin<T>(&self, method: SigninMethod, outcome: &ApiResult<T>) {
        let outcome = match outcome {
            Ok(_) => "success",
            Err(e) => e.reason(),
        };
        self.signins
            .with_label_values(&[method.as_str(), outcome])
            .inc();
    }

    /// Counts a request refused by the limit named `limit` (a fixed name).
    pub fn limit_hit(&self, limit: &'static str) {
        self.limits.with_label_values(&[limit]).inc();
    }

    /// Counts a captcha `issued`, `solved` or `failed`.
    pub fn captcha(&self, outcome: &'static str) {
        self.captchas.with_label_values(&[outcome]).inc();
    }

    /// Counts a code handed to `channel` (`sms`, `email`, `log`) with the provider's answer.
    pub fn code_sent<T>(&self, channel: &'static str, result: &ApiResult<T>) {
        let result = match result {
            Ok(_) => "ok",
            Err(e) => e.reason(),
        };
        self.codes.with_label_values(&[channel, result]).inc();
    }
}

/// What the gauges show, read when scraped (by the `/metrics` handler, which may read the
/// features' tables).
pub struct Readings {
    /// Deliveries per state, every state listed (0 when it has none).
    pub deliveries: Vec<(String, i64)>,
    /// Per partner with pending deliveries: (client_id, pending, oldest pending's age in s).
    pub backlogs: Vec<(String, i64, i64)>,
    pub sessions_live: i64,
    /// Jobs running or queued per blocking lane.
    pub lanes: Vec<(&'static str, usize)>,
}

impl Metrics {
    /// The exposition: the counters as they stand and the gauges as `now` says.
    pub fn expose(&self, now: Readings) -> ApiResult<String> {
        self.deliveries.reset();
        for (state, n) in &now.deliveries {
            self.deliveries.with_label_values(&[state]).set(*n);
        }
        self.backlog.reset();
        self.oldest_pending.reset();
        for (client_id, pending, oldest) in &now.backlogs {
            self.backlog.with_label_values(&[client_id]).set(*pending);
            self.oldest_pending
                .with_label_values(&[client_id])
                .set(*oldest);
        }
        self.sessions_live.set(now.sessions_live);
        for (lane, jobs) in now.lanes {
            self.lane_jobs
                .with_label_values(&[lane])
                .set(i64::try_from(jobs).unwrap_or(i64::MAX));
        }
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .map_err(|e| ApiError::Internal(format!("metrics: {e}")))
    }
}
