//! Account rows and the JSON shapes they are shown in.

use chrono::{NaiveDateTime, SecondsFormat};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::users;
use crate::domain::Number;
use crate::error::ApiError;

pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_USER: &str = "user";
pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_DISABLED: &str = "disabled";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserRow {
    pub id: String,
    pub username: Option<String>,
    pub username_lower: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub head_img: Option<String>,
    pub openid: Option<String>,
    pub unionid: Option<String>,
    pub wechat_profile: Option<String>,
    pub role: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When a code sent to the phone was last answered (OpenID Connect's
    /// `phone_number_verified`); `None` for a number nobody proved, such as one set at
    /// registration without a code.
    pub phone_verified_at: Option<NaiveDateTime>,
    pub email_verified_at: Option<NaiveDateTime>,
}

impl UserRow {
    pub fn is_admin(&self) -> bool {
        self.role == ROLE_ADMIN
    }

    pub fn is_active(&self) -> bool {
        self.status == STATUS_ACTIVE
    }

    /// Phone, e-mail and username: what a password may not equal.
    pub fn identities(&self) -> Vec<&str> {
        [&self.phone, &self.email, &self.username]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// Sets the phone or e-mail; a new one is not proven until [`UserRow::mark_proven`].
    pub fn set_number(&mut self, number: &Number) {
        match number {
            Number::Phone(p) => {
                self.phone = Some(p.clone());
                self.phone_verified_at = None;
            }
            Number::Email(e) => {
                self.email = Some(e.clone());
                self.email_verified_at = None;
            }
        }
    }

    /// Records that a code sent to `number` (the account's own) was just answered.
    pub fn mark_proven(&mut self, number: &Number) {
        let now = Some(crate::db::now());
        match number {
            Number::Phone(_) => self.phone_verified_at = now,
            Number::Email(_) => self.email_verified_at = now,
        }
    }

    /// Whether `number`'s kind of contact is still unproven (a code sign-in then proves it).
    pub fn unproven(&self, number: &Number) -> bool {
        match number {
            Number::Phone(_) => self.phone_verified_at.is_none(),
            Number::Email(_) => self.email_verified_at.is_none(),
        }
    }
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The seed-000 user object. Never holds a hash, a `session_key` or a secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub head_img: Option<String>,
    pub openid: Option<String>,
    pub role: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            id: u.id.clone(),
            username: u.username.clone(),
            phone: u.phone.clone(),
            email: u.email.clone(),
            head_img: u.head_img.clone(),
            openid: u.openid.clone(),
            role: u.role.clone(),
            status: u.status.clone(),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// What anyone signed in may see of another account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicUserView {
    pub id: String,
    pub username: Option<String>,
    pub head_img: Option<String>,
}

impl From<&UserRow> for PublicUserView {
    fn from(u: &UserRow) -> Self {
        PublicUserView {
            id: u.id.clone(),
            username: u.username.clone(),
            head_img: u.head_img.clone(),
        }
    }
}

pub fn find_by_number(conn: &mut DbConnection, number: &Number) -> QueryResult<Option<UserRow>> {
    let query = users::table.select(UserRow::as_select());
    match number {
        Number::Phone(p) => query.filter(users::phone.eq(p)).first(conn).optional(),
        Number::Email(e) => query.filter(users::email.eq(e)).first(conn).optional(),
    }
}

pub fn find_by_openid(conn: &mut DbConnection, openid: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::openid.eq(openid))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn username_taken(conn: &mut DbConnection, lower: &str, except: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::username_lower.eq(lower))
            .filter(users::id.ne(except)),
    ))
    .get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn save(conn: &mut DbConnection, row: &UserRow) -> QueryResult<()> {
    diesel::update(users::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(|_| ())
}

/// Whether a write adds an account or changes one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Write {
    New,
    Existing,
}

/// Writes `row`, refusing a username another account holds (`conflict`) and a number one
/// holds (`account_exists`): the unique indexes decide, so a writer that got there first
/// between a caller's check and this write is refused too.
pub fn write_unique(conn: &mut DbConnection, row: &UserRow, write: Write) -> Result<(), ApiError> {
    if let Some(lower) = &row.username_lower
        && username_taken(conn, lower, &row.id)?
    {
        return Err(ApiError::Conflict("username taken"));
    }
    let written = match write {
        Write::New => insert(conn, row),
        Write::Existing => save(conn, row),
    };
    written.map_err(|e| match ApiError::from(e) {
        ApiError::Conflict(_) => ApiError::AccountExists,
        other => other,
    })
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(users::table.find(id)).execute(conn)
}

/// A new, active account with a generated username and no way to sign in yet.
pub fn blank_row() -> UserRow {
    let now = crate::db::now();
    let username = crate::domain::Username::generated();
    UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        username: Some(username.as_str().to_owned()),
        username_lower: Some(username.lower()),
        phone: None,
        email: None,
        password_hash: None,
        head_img: None,
        openid: None,
        unionid: None,
        wechat_profile: None,
        role: ROLE_USER.into(),
        status: STATUS_ACTIVE.into(),
        created_at: now,
        updated_at: now,
        phone_verified_at: None,
        email_verified_at: None,
    }
}

/// A new, active account for a number, with a generated username.
pub fn new_row(number: &Number, password_hash: Option<String>) -> UserRow {
    let mut row = blank_row();
    row.password_hash = password_hash;
    row.set_number(number);
    row
}
