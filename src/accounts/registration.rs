//! Creating accounts and resetting passwords with a code: shared by the JSON API and the pages.

use crate::accounts::{UserRow, model, passwords, signin};
use crate::audit::{Event, Origin, Record};
use crate::codes::{self, Purpose};
use crate::domain::{Number, Password, Username};
use crate::error::{ApiError, ApiResult};
use crate::sessions::{self, EndReason, Which};
use crate::state::AppState;

/// Creates an account after proving the number with a code (`None` only where the operator
/// allows registration without one).
#[tracing::instrument(skip_all)]
pub async fn create_account(
    state: &AppState,
    number: Number,
    pwd: &str,
    code: Option<&str>,
    username: Option<&str>,
) -> ApiResult<UserRow> {
    let username = match username {
        Some(raw) => Some(Username::parse(raw).map_err(|why| ApiError::field("username", why))?),
        None => None,
    };
    let mut identities = vec![number.as_str()];
    if let Some(u) = &username {
        identities.push(u.as_str());
    }
    let password = Password::parse(pwd, &identities)?;
    if let Some(code) = code {
        codes::verify(state, &number, code, Purpose::Signup).await?;
    }
    let hash = passwords::hash(state, &password).await?;
    let mut row = model::new_row(&number, Some(hash));
    if code.is_some() {
        row.mark_proven(&number);
    }
    if let Some(u) = &username {
        row.username = Some(u.as_str().to_owned());
        row.username_lower = Some(u.lower());
    }
    state
        .db
        .run(move |conn| {
            if model::find_by_number(conn, &number)?.is_some() {
                return Err(ApiError::AccountExists);
            }
            model::write_unique(conn, &row, model::Write::New)?;
            Ok(row)
        })
        .await
}

/// Sets a new password with a code sent to the number; every session of the account ends.
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    state: &AppState,
    number: Number,
    pwd: &str,
    code: &str,
) -> ApiResult<()> {
    Password::parse(pwd, &[number.as_str()])?;
    codes::verify(state, &number, code, Purpose::ResetPassword).await?;
    let lookup = number.clone();
    let mut user = state
        .db
        .run(move |conn| model::find_by_number(conn, &lookup).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::AccountNotFound)?;
    let password = Password::parse(pwd, &user.identities())?;
    user.password_hash = Some(passwords::hash(state, &password).await?);
    let reset = Record::new(Event::PasswordReset)
        .user(&user.id)
        .with("with", "verification_code");
    let user = crate::accounts::save_recording(state, user, vec![reset]).await?;
    sessions::end(
        state,
        Which::AllOfUser {
            user_id: &user.id,
            except: None,
        },
        EndReason::PasswordReset,
    )
    .await?;
    signin::clear_lockout(state, &user, &number).await
}

/// Changes a signed-in person's password (the old one is checked under the sign-in lockout);
/// their other sessions end.
#[tracing::instrument(skip_all)]
pub async fn change_password(
    state: &AppState,
    user_id: &str,
    sid: &str,
    old: &str,
    new: &str,
    ip: std::net::IpAddr,
) -> ApiResult<()> {
    let mut user = crate::accounts::load_self(state, user_id).await?;
    signin::confirm_password(state, &user, old, ip).await?;
    let password = Password::parse(new, &user.identities())?;
    user.password_hash = Some(passwords::hash(state, &password).await?);
    let changed = Record::new(Event::PasswordChanged)
        .user(user_id)
        .actor(Some(user_id))
        .from(&Origin {
            ip: Some(ip.to_string()),
            user_agent: None,
        });
    crate::accounts::save_recording(state, user, vec![changed]).await?;
    sessions::end(
        state,
        Which::AllOfUser {
            user_id,
            except: Some(sid),
        },
        EndReason::PasswordChanged,
    )
    .await?;
    Ok(())
}
