//! Changes people make to their own account: the profile (a new phone or e-mail only with a
//! code sent to it) and deletion (only with the password, or a code for accounts without one).

use std::net::IpAddr;

use crate::accounts::model::{self, UserRow};
use crate::accounts::{load_self, signin};
use crate::audit::{Event, Origin, Record};
use crate::codes::{self, Purpose};
use crate::domain::{Number, Username};
use crate::error::{ApiError, ApiResult};
use crate::sessions::{self, EndReason, Which};
use crate::state::AppState;

/// What a profile update asks for; each field already valid.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub username: Option<Username>,
    pub head_img: Option<String>,
    pub phone: Option<Number>,
    pub email: Option<Number>,
    /// A code sent to the new phone or e-mail (purpose `change_contact`).
    pub verify_code: Option<String>,
}

/// The new phone or e-mail, if the change asks for one the account does not already have
/// (only one at a time: one code proves one address).
fn new_contact(change: &ProfileChange, user: &UserRow) -> ApiResult<Option<Number>> {
    let phone = change
        .phone
        .clone()
        .filter(|n| user.phone.as_deref() != Some(n.as_str()));
    let email = change
        .email
        .clone()
        .filter(|n| user.email.as_deref() != Some(n.as_str()));
    match (phone, email) {
        (Some(_), Some(_)) => Err(ApiError::field(
            "verify_code",
            "change the phone and the e-mail address one at a time",
        )),
        (p, e) => Ok(p.or(e)),
    }
}

#[tracing::instrument(skip(state, change))]
pub async fn update(state: &AppState, user_id: &str, change: ProfileChange) -> ApiResult<UserRow> {
    let mut user = load_self(state, user_id).await?;
    let mut contact_changed = None;
    if let Some(number) = new_contact(&change, &user)? {
        let code = change.verify_code.as_deref().ok_or_else(|| {
            ApiError::field("verify_code", "required to change the phone or e-mail")
        })?;
        // The code first: without it, whether the address is taken is nobody's business.
        codes::verify(state, &number, code, Purpose::ChangeContact).await?;
        let lookup = number.clone();
        let taken = state
            .db
            .run(move |conn| model::find_by_number(conn, &lookup).map_err(ApiError::from))
            .await?;
        if taken.is_some() {
            return Err(ApiError::AccountExists);
        }
        user.set_number(&number);
        user.mark_proven(&number);
        let kind = if number.is_email() { "email" } else { "phone" };
        contact_changed = Some(
            Record::new(Event::ContactChanged)
                .user(user_id)
                .actor(Some(user_id))
                .with("contact", kind),
        );
    }
    if let Some(u) = &change.username {
        user.username = Some(u.as_str().to_owned());
        user.username_lower = Some(u.lower());
    }
    if let Some(h) = change.head_img {
        user.head_img = Some(h);
    }
    user.updated_at = crate::db::now();
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                model::write_unique(conn, &user, model::Write::Existing)?;
                if let Some(event) = contact_changed {
                    crate::audit::record(conn, event)?;
                }
                Ok(user)
            })
        })
        .await
}

/// How a person proves it is them before deleting their account.
pub struct Proof<'a> {
    pub password: Option<&'a str>,
    pub verify_code: Option<&'a str>,
    pub ip: IpAddr,
}

/// Deletes the account after checking the password (through the sign-in limits) or, for an
/// account without one, a sign-in code sent to its phone or e-mail; every session ends first.
#[tracing::instrument(skip(state, proof))]
pub async fn delete(state: &AppState, user_id: &str, proof: Proof<'_>) -> ApiResult<()> {
    let user = load_self(state, user_id).await?;
    match (&user.password_hash, proof.password, proof.verify_code) {
        (Some(_), Some(pwd), _) => signin::confirm_password(state, &user, pwd, proof.ip).await?,
        (Some(_), None, _) => return Err(ApiError::field("pwd", "required")),
        (None, _, Some(code)) => {
            let number = user
                .phone
                .as_deref()
                .or(user.email.as_deref())
                .and_then(|n| Number::parse(n).ok())
                .ok_or(ApiError::VerifyCodeInvalid)?;
            codes::verify(state, &number, code, Purpose::Signin).await?;
        }
        (None, _, None) => return Err(ApiError::field("verify_code", "required")),
    }
    let all = Which::AllOfUser {
        user_id: &user.id,
        except: None,
    };
    sessions::end(state, all, EndReason::AccountDeleted).await?;
    let id = user.id;
    let deleted = Record::new(Event::AccountDeleted)
        .user(&id)
        .actor(Some(&id))
        .from(&Origin {
            ip: Some(proof.ip.to_string()),
            user_agent: None,
        });
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                model::delete(conn, &id)?;
                crate::audit::record(conn, deleted)
            })
            .map_err(ApiError::from)
        })
        .await?;
    Ok(())
}
