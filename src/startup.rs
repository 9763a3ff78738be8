//! Building and running the server; tests bind port 0 through the same code.

use std::net::TcpListener;
use std::time::Duration;

use actix_service::{IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::{ResourceDef, Server, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpResponse, ResponseError, web};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::head_deadline::HeadDeadline;
use crate::http::middleware::RequestContext;
use crate::keys::{KeyPolicy, Keyring, WordInfoKeys};
use crate::openapi::ApiDoc;
use crate::state::AppState;
use crate::store::Store;
use crate::{accounts, admin, captcha, cas, codes, health, multiterminal, oidc, pages, tokens};

pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener's server (`GATEHOUSE_METRICS_LISTEN`), stopped with the main one.
    metrics: Option<actix_web::dev::ServerHandle>,
    state: web::Data<AppState>,
}

/// Opens the database and applies migrations (blocking work, kept off the async workers).
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database();
    let size = settings.db_pool_size;
    tokio::task::spawn_blocking(move || {
        let db = Db::connect(&url, size)?;
        db.migrate()?;
        Ok(db)
    })
    .await?
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)?;
        Self::build_with_listener(settings, listener).await
    }

    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        if settings.captcha_test_answers {
            tracing::warn!(
                "GATEHOUSE_CAPTCHA_TEST_ANSWERS is on: captcha answers are handed out. Tests only!"
            );
        }
        if settings.sms_provider == crate::config::SmsProvider::Log {
            tracing::warn!(
                "SMS provider `log`: verification codes are written to the log (development only)"
            );
        }
        let db = open_database(&settings).await?;
        let data_dir = settings.data_dir.clone();
        let overlap = std::time::Duration::from_secs(settings.word_info_overlap_secs);
        let word_info =
            tokio::task::spawn_blocking(move || WordInfoKeys::load_or_create(&data_dir, overlap))
                .await??;
        // The data dir was made private by the word-info key's load above.
        let policy = KeyPolicy::from_settings(&settings)?;
        let keyring =
            std::sync::Arc::new(Keyring::open(db.clone(), &settings.data_dir, policy).await?);
        keyring.clone().spawn(settings.key_rotate_days);
        let store = match &settings.redis_url {
            Some(url) => Store::Redis(crate::store::RedisStore::connect(
                url,
                &settings.redis_key_prefix,
            )?),
            None => Store::memory(),
        };
        store.spawn_janitor();
        let state = web::Data::new(AppState::new(settings, db, store, keyring, word_info)?);
        crate::partners::logout::spawn_worker(state.clone(), state.logout_wakeup.clone());
        crate::audit::spawn_retention(state.clone());
        crate::accounts::passwords::warm_dummy(&state);
        let port = listener.local_addr()?.port();
        let app_state = state.clone();
        let doc = web::Data::new(ApiDocument::default());
        let timeout = Duration::from_secs(state.settings.request_timeout_secs);
        let server = serve(listener, timeout, move || {
            build_app(app_state.clone(), doc.clone())
        })?;
        let metrics = match state.settings.metrics_listen {
            Some(addr) => Some(serve_metrics(state.clone(), addr)?),
            None => None,
        };
        Ok(Application {
            port,
            server,
            metrics,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let out = self.server.await;
        if let Some(metrics) = self.metrics {
            metrics.stop(true).await;
        }
        out
    }
}

/// `GET /metrics` alone on its own address, one worker: only Prometheus calls there.
fn serve_metrics(
    state: web::Data<AppState>,
    addr: std::net::SocketAddr,
) -> anyhow::Result<actix_web::dev::ServerHandle> {
    let server = actix_web::HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(health::scrape))
    })
    .workers(1)
    .bind(addr)
    .map_err(|e| anyhow::anyhow!("GATEHOUSE_METRICS_LISTEN {addr}: {e}"))?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(handle)
}

/// Serves HTTP/1.1 on `listener` as actix-web's `HttpServer` would, with one difference: each
/// connection's socket is wrapped in [`HeadDeadline`], so every request head on it (not only
/// the first) must arrive within `timeout`.
fn serve<F, T, B>(listener: TcpListener, timeout: Duration, app: F) -> std::io::Result<Server>
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: actix_web::dev::ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: actix_web::body::MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    Ok(actix_server::Server::build()
        .listen("gatehouse", listener, move || {
            let factory = app().into_factory();
            let http = actix_http::HttpService::build()
                .keep_alive(actix_http::KeepAlive::Timeout(Duration::from_secs(5)))
                // The first head has this time under the server's own timer as well.
                .client_request_timeout(timeout)
                .client_disconnect_timeout(Duration::from_secs(2))
                .local_addr(addr)
                .finish(actix_service::map_config(factory, |_| {
                    actix_web::dev::AppConfig::default()
                }));
            actix_service::fn_service(move |io: tokio::net::TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((
                    HeadDeadline::new(io, timeout),
                    actix_http::Protocol::Http1,
                    peer,
                ))
            })
            .and_then(http)
        })?
        .run())
}

/// Registers every route of the JSON API on `$app`: a plain actix `App` for serving, or
/// utoipa's wrapper for the document (it refuses a handler without `#[utoipa::path]`).
macro_rules! api_routes {
    ($app:expr) => {
        // Routes are tried in this order: the token check, the hot path, comes first.
        $app.service(tokens::routes::check_token)
            .service(health::healthz)
            .service(health::readyz)
            .service(health::metrics)
            // The OpenID Connect endpoints before the first dynamic path: a route is found by
            // trying each in turn, and a pattern costs a regex match.
            .service(tokens::routes::jwks)
            .service(oidc::discovery::discovery)
            .service(pages::oidc::authorize)
            .service(pages::oidc::authorize_post)
            .service(oidc::routes::token_endpoint)
            .service(oidc::routes::userinfo)
            .service(oidc::routes::userinfo_post)
            .service(oidc::routes::introspect)
            .service(oidc::routes::revoke)
            .service(oidc::routes::token_preflight)
            .service(oidc::routes::revoke_preflight)
            .service(oidc::routes::userinfo_preflight)
            .service(pages::oidc::logout)
            .service(pages::oidc::logout_post)
            .service(cas::routes::validate_v1)
            .service(cas::routes::service_validate_v2)
            .service(cas::routes::service_validate_v3)
            .service(cas::routes::proxy_validate_v2)
            .service(cas::routes::proxy_validate_v3)
            .service(cas::routes::proxy)
            .service(captcha::routes::client_code)
            .service(codes::routes::send_code)
            .service(accounts::routes::signin::signin_with_password)
            .service(accounts::routes::signin::signin_with_code)
            .service(accounts::routes::signin::signout)
            .service(accounts::routes::register::signup)
            .service(accounts::routes::register::change_password)
            .service(accounts::routes::register::reset_password)
            .service(accounts::routes::list::list_users)
            .service(multiterminal::routes::public_key)
            .service(multiterminal::routes::register)
            .service(multiterminal::routes::login)
            .service(multiterminal::routes::refresh)
            .service(multiterminal::routes::exit)
            .service(multiterminal::routes::info_self)
            .service(multiterminal::routes::info_by_id)
            // Fixed `/users/…` paths must be tried before `/users/{user_id}`.
            .service(accounts::routes::profile::me)
            .service(accounts::routes::profile::by_id)
            .service(accounts::routes::profile::update)
            .service(accounts::routes::profile::delete_account)
            .service(tokens::routes::record_token)
            .service(admin::clients::list_clients)
            .service(admin::clients::create_client)
            .service(admin::clients::get_client)
            .service(admin::clients::update_client)
            .service(admin::clients::delete_client)
            .service(admin::clients::rotate_secret)
            .service(admin::users::patch_user)
            .service(admin::users::force_signout)
            .service(admin::users::deliveries)
            .service(admin::audit::audit)
            .service(admin::keys::list_keys)
            .service(admin::keys::rotate_key)
            .service(admin::sms::sms_status)
    };
}

/// The OpenAPI document, serialised, and the paths it names. Built once, on first need (the
/// document itself, or telling 405 from 404), and shared by the workers: each would
/// otherwise keep a full utoipa model of it (about a megabyte apiece), and an instance
/// that is only checking tokens never runs the schema code at all.
#[derive(Default)]
pub struct ApiDocument(std::sync::OnceLock<Built>);

struct Built {
    json: web::Bytes,
    /// Each documented path, whether it is a template, and the methods it answers (for 405's
    /// `Allow` header).
    known: Vec<(ResourceDef, bool, String)>,
}

/// The methods a documented path answers, as an `Allow` header value (RFC 9110 §15.5.6).
fn allowed(item: &utoipa::openapi::PathItem) -> String {
    let ops = [
        ("GET", &item.get),
        ("HEAD", &item.head),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
        ("OPTIONS", &item.options),
    ];
    ops.iter()
        .filter(|(_, op)| op.is_some())
        .map(|(m, _)| *m)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ApiDocument {
    fn get(&self) -> &Built {
        self.0.get_or_init(|| {
            let (_, api) = api_routes!(App::new().into_utoipa_app().openapi(ApiDoc::openapi()))
                .split_for_parts();
            let known = api
                .paths
                .paths
                .iter()
                .map(|(p, item)| (ResourceDef::new(p.as_str()), p.contains('{'), allowed(item)))
                .collect();
            // An OpenAPI model always serialises; an empty body would only mean a bug here.
            let mut doc = serde_json::to_value(&api).unwrap_or_default();
            crate::openapi::finish(&mut doc);
            let json = serde_json::to_vec(&doc).unwrap_or_default();
            Built {
                json: web::Bytes::from(json),
                known,
            }
        })
    }
}

async fn openapi_json(doc: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.get().json.clone())
}

fn build_app(
    state: web::Data<AppState>,
    doc: web::Data<ApiDocument>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let known = doc.clone();
    let context = RequestContext::new(
        state.metrics.clone(),
        std::time::Duration::from_secs(state.settings.request_timeout_secs),
    );
    let app = api_routes!(App::new().app_data(state));
    // Pages before Swagger UI: services registered after it are never reached.
    app.configure(pages::routes)
        .app_data(doc)
        .route("/openapi.json", web::get().to(openapi_json))
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::from("/openapi.json")))
        .app_data(
            web::FormConfig::default()
                .limit(crate::http::input::BODY_LIMIT)
                .error_handler(|_, _| ApiError::field("body", "malformed form").into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|_, _| ApiError::field("query", "malformed query string").into()),
        )
        .default_service(web::to(move |req: actix_web::HttpRequest| {
            let known = known.clone();
            async move {
                // A known path reached with another method is 405 with the methods it does
                // answer, anything else 404. A fixed path names its own resource even where a
                // template matches it too (`/users/password` is not a `/users/{user_id}`), as
                // OpenAPI matches concrete paths before templated ones.
                let matching: Vec<&(ResourceDef, bool, String)> = known
                    .get()
                    .known
                    .iter()
                    .filter(|(r, _, _)| r.is_match(req.path()))
                    .collect();
                let fixed = matching.iter().any(|(_, templated, _)| !templated);
                let methods: Vec<&str> = matching
                    .iter()
                    .filter(|(_, templated, _)| !(fixed && *templated))
                    .map(|(_, _, allow)| allow.as_str())
                    .collect();
                if methods.is_empty() {
                    return ApiError::NotFound.error_response();
                }
                let mut allow: Vec<&str> = methods.iter().flat_map(|m| m.split(", ")).collect();
                allow.sort_unstable();
                allow.dedup();
                let mut res = ApiError::MethodNotAllowed.error_response();
                if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allow.join(", ")) {
                    res.headers_mut().insert(actix_web::http::header::ALLOW, v);
                }
                res
            }
        }))
        .wrap(context)
}
