//! The `gatehouse` command line.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::accounts::model::{self, ROLE_ADMIN};
use crate::config::Settings;
use crate::domain::{Number, Password};
use crate::partners::{self, ClientMode, ClientView, NewClient};
use crate::startup::{Application, open_database};

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Single sign-on identity provider"
)]
pub struct Cli {
    /// TOML configuration file (also GATEHOUSE_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Operator accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Partner systems.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Signing keys (in the database) and the word-info key (in the data dir).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key: published at once, signing after GATEHOUSE_KEY_PUBLISH_SECS,
    /// when the key before it starts retiring. Prints {"kid","alg","state"}.
    Rotate {
        /// EdDSA signs access tokens; RS256 signs for OpenID Connect clients registered with it.
        #[arg(long, default_value = "EdDSA", value_parser = parse_alg)]
        alg: crate::keys::Alg,
    },
    /// The signing keys as a JSON array, newest first.
    List,
    /// Make a new word-info key; the previous one keeps decrypting for
    /// GATEHOUSE_WORD_INFO_OVERLAP_SECS. Restart the instances to publish it.
    RotateWordInfo,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an operator account. A number that already has an account is refused and that
    /// account left untouched (make it an operator from the console or the admin API).
    Create {
        /// Phone number or e-mail address.
        #[arg(long)]
        number: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a partner system; prints its client_id and client_secret as JSON.
    Add(ClientAdd),
    /// List partner systems as JSON.
    List,
}

#[derive(Debug, Args)]
pub struct ClientAdd {
    #[arg(long)]
    pub name: String,
    /// A callback rule: an exact URL, or one ending in `/*` for a path prefix. Repeatable.
    /// Required for `token` and `ticket` partners.
    #[arg(long = "callback")]
    pub callbacks: Vec<String>,
    /// Where single-logout messages go (`oidc`: the back-channel logout URI).
    #[arg(long)]
    pub logout_url: Option<String>,
    #[arg(long, default_value = "token", value_parser = mode_parser())]
    pub mode: crate::partners::ClientMode,
    /// `oidc`: an exact redirect URI. Repeatable; at least one.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// `oidc`: an exact URL RP-initiated logout may return to. Repeatable.
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// `oidc`: client_secret_basic (default), client_secret_post, or none (public, PKCE).
    #[arg(long)]
    pub token_endpoint_auth_method: Option<String>,
    /// `oidc`: RS256 (default) or EdDSA.
    #[arg(long)]
    pub id_token_signed_response_alg: Option<String>,
}

/// The modes by name, listed in `--help` and in the error for an unknown one.
fn mode_parser() -> impl clap::builder::TypedValueParser<Value = crate::partners::ClientMode> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(crate::partners::ClientMode::NAMES)
        .try_map(|name| name.parse::<crate::partners::ClientMode>())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match crate::observe::logging::LogFormat::from_env() {
        Ok(f) => f,
        Err(err) => {
            eprintln!("gatehouse: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    // Held to the end of `main`: dropping it writes the lines still queued.
    let _log = crate::observe::logging::init(format);
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("gatehouse: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("gatehouse: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gatehouse: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "gatehouse listening");
            app.run_until_stopped().await?;
            Ok(())
        }
        Command::Migrate => {
            open_database(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin(AdminCommand::Create { number, .. }) => {
            create_admin(settings, &number).await
        }
        Command::Client(ClientCommand::Add(add)) => add_client(settings, add).await,
        Command::Client(ClientCommand::List) => list_clients(settings).await,
        Command::Keys(KeysCommand::Rotate { alg }) => {
            let keyring = keyring(&settings).await?;
            let key = keyring
                .rotate(alg, &crate::audit::By::command_line())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({ "kid": key.kid, "alg": key.alg, "state": key.state })
            );
            Ok(())
        }
        Command::Keys(KeysCommand::List) => {
            let keyring = keyring(&settings).await?;
            println!("{}", serde_json::to_string(&keyring.list())?);
            Ok(())
        }
        Command::Keys(KeysCommand::RotateWordInfo) => {
            let db = open_database(&settings).await?;
            let kid = crate::keys::WordInfoKeys::rotate(&settings.data_dir)?;
            let rotated = crate::audit::By::command_line()
                .record(crate::audit::Event::KeyRotated)
                .with("key", "word_info")
                .with("kid", kid.clone());
            db.run(move |conn| Ok(crate::audit::record(conn, rotated)?))
                .await
                .map_err(|e| anyhow::anyhow!("the key was rotated but not recorded: {e}"))?;
            println!("{}", serde_json::json!({ "kid": kid }));
            Ok(())
        }
    }
}

async fn keyring(settings: &Settings) -> anyhow::Result<crate::keys::Keyring> {
    let db = open_database(settings).await?;
    let policy = crate::keys::KeyPolicy::from_settings(settings)?;
    crate::keys::Keyring::open_existing(db, &settings.data_dir, policy).await
}

fn parse_alg(raw: &str) -> Result<crate::keys::Alg, String> {
    crate::keys::Alg::parse(raw).ok_or_else(|| "EdDSA or RS256".to_owned())
}

async fn create_admin(settings: Settings, number: &str) -> anyhow::Result<()> {
    let number = Number::parse(number)
        .map_err(|_| anyhow::anyhow!("--number: not a phone number or e-mail address"))?;
    let mut raw = String::new();
    std::io::stdin().read_to_string(&mut raw)?;
    let raw = raw.strip_suffix('\n').unwrap_or(&raw);
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let password = Password::parse(raw, &[number.as_str()])
        .map_err(|e| anyhow::anyhow!("password rejected: {}", describe(&e)))?;
    let cost = settings.bcrypt_cost;
    let db = open_database(&settings).await?;
    let exists = {
        let number = number.clone();
        db.run(move |conn| Ok(model::find_by_number(conn, &number)?.is_some()))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    // Turning someone's account into an operator and replacing their password from a shell
    // would leave their sessions (and whoever holds them) with operator power.
    if exists {
        anyhow::bail!(
            "an account with this number already exists; it was left unchanged \
             (an operator can grant the role with PATCH /admin/api/users/{{id}})"
        );
    }
    let secret = password.expose().to_owned();
    let hash = tokio::task::spawn_blocking(move || bcrypt::hash(secret, cost)).await??;
    let id = db
        .run(move |conn| {
            let mut row = model::new_row(&number, Some(hash));
            row.role = ROLE_ADMIN.into();
            // Refused too when created by someone else between the check and the insert.
            model::write_unique(conn, &row, model::Write::New)?;
            Ok(row.id)
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", serde_json::json!({ "id": id, "role": ROLE_ADMIN }));
    Ok(())
}

fn describe(err: &crate::error::ApiError) -> String {
    match err {
        crate::error::ApiError::PasswordWeak(why) => (*why).to_owned(),
        other => other.to_string(),
    }
}

async fn add_client(settings: Settings, add: ClientAdd) -> anyhow::Result<()> {
    // Empty counts as absent, as in the JSON API.
    let given = |v: Option<String>| v.filter(|s| !s.is_empty());
    let new = NewClient {
        name: add.name,
        mode: add.mode,
        callbacks: add.callbacks,
        logout_url: given(add.logout_url),
        redirect_uris: add.redirect_uris,
        post_logout_redirect_uris: add.post_logout_redirect_uris,
        token_endpoint_auth_method: given(add.token_endpoint_auth_method),
        id_token_signed_response_alg: given(add.id_token_signed_response_alg),
    }
    .validate()?;
    let issuer = settings.issuer();
    let db = open_database(&settings).await?;
    let (row, secret) = db
        .run(move |conn| {
            let by = crate::audit::By::command_line();
            crate::admin::clients::insert_recorded(conn, new, &by).map_err(Into::into)
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let shown = match row.mode() {
        ClientMode::Token | ClientMode::Ticket => {
            serde_json::json!({ "client_id": row.client_id, "client_secret": secret })
        }
        ClientMode::Oidc => serde_json::json!({
            "client_id": row.client_id,
            "client_secret": secret,
            "discovery_url": format!("{issuer}/.well-known/openid-configuration"),
            "issuer": issuer,
        }),
        ClientMode::Cas => serde_json::json!({
            "client_id": row.client_id,
            "client_secret": null,
            "cas_server_url": format!("{issuer}/cas/"),
        }),
    };
    println!("{shown}");
    Ok(())
}

async fn list_clients(settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    let rows = db
        .run(|conn| partners::list(conn).map_err(Into::into))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let views: Vec<ClientView> = rows.iter().map(ClientView::from).collect();
    println!("{}", serde_json::to_string_pretty(&views)?);
    Ok(())
}
