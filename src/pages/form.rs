//! The pages' form bodies: an urlencoded form read like the API reads its parameters (64 KiB
//! at most, within the body deadline), and refused as a whole when a field the page reads
//! holds a NUL character, so pages and API turn away the same text.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::http::input::Input;

pub struct Form<T>(pub T);

/// A form whose one page-only field is the CSRF token; the rest is read as the JSON API reads
/// the same request (an `Input` extracted alongside shares the body).
#[derive(Debug, serde::Deserialize)]
pub struct Csrf {
    pub csrf: Option<String>,
}

/// A form post whose fields are an API request's: the CSRF token, and the fields as `Input`.
pub type Posted = (Form<Csrf>, Input);

impl<T> Form<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Form<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let input = Input::shared(req, payload);
        Box::pin(async move { Ok(Form(input.await?.parse()?)) })
    }
}
