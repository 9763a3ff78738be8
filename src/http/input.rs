//! Request parameters, read the same way for every route.
//!
//! Write requests may send a JSON object or an urlencoded form with the same field names; GET
//! requests use the query string. Query parameters are read for every method and a body
//! overrides them field by field. An empty value counts as absent. Bodies over 64 KiB are 413.
//! A field the route reads may not hold a NUL character; unknown fields are ignored, whatever
//! they hold.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Default, Clone)]
pub struct Input {
    fields: Map<String, Value>,
}

impl Input {
    /// Deserialises the parameters into `T`. Every field of `T` that is not an `Option` is
    /// required, and one answer names all that are missing (reason `required`). A value of the
    /// wrong type names its field, and so does one of `T`'s fields holding a NUL character:
    /// PostgreSQL cannot store one while SQLite can, so refusing it here makes both databases
    /// answer alike (and keeps it out of logs). Fields `T` does not know are ignored, as the
    /// contract has it, NUL or not.
    pub fn parse<T: DeserializeOwned>(&self) -> ApiResult<T> {
        self.parse_requiring(&[])
    }

    /// [`Input::parse`], where `also` names parameters this request needs beyond `T`'s own
    /// (a rule known only at run time, such as a setting); they are reported with the rest.
    pub fn parse_requiring<T: DeserializeOwned>(&self, also: &[&str]) -> ApiResult<T> {
        let names = field_names::<T>();
        for name in names {
            if self.fields.get(*name).is_some_and(holds_nul) {
                return Err(ApiError::field(name, "must not contain NUL characters"));
            }
        }
        let mut missing: Vec<String> = also
            .iter()
            .filter(|name| !self.fields.contains_key(**name))
            .map(|name| (*name).to_owned())
            .collect();
        let mut fields = self.fields.clone();
        // serde stops at the first missing field; each pass stands an empty value in for the
        // one it names, so the next pass finds the next. At most one pass per field of `T`.
        let outcome = loop {
            match serde_path_to_error::deserialize::<_, T>(Value::Object(fields.clone())) {
                Ok(value) => break Ok(value),
                Err(err) => match missing_field(&err, names) {
                    Some(name) if !fields.contains_key(name) => {
                        missing.push(name.to_owned());
                        fields.insert(name.to_owned(), Value::String(String::new()));
                    }
                    _ => break Err(err),
                },
            }
        };
        if !missing.is_empty() {
            return Err(ApiError::InvalidParams(
                missing
                    .into_iter()
                    .map(|name| (name, "required".to_owned()))
                    .collect(),
            ));
        }
        outcome.map_err(|err| {
            let path = err.path().to_string();
            let field = path.split(['.', '[']).next().unwrap_or("body").to_owned();
            let field = if field.is_empty() || field == "." {
                "body".to_owned()
            } else {
                field
            };
            ApiError::field(&field, "wrong type")
        })
    }

    /// Stands `value` in for `name` when the parameters lack it (a cookie the browser holds
    /// for a field the form may leave out).
    pub fn or_else(mut self, name: &str, value: Option<String>) -> Self {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.fields
                .entry(name.to_owned())
                .or_insert(Value::String(value));
        }
        self
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// A parameter read outside [`Input::parse`] (the auth extractor's `token`), checked by
    /// the same rules: text, without NUL characters. `Ok(None)` when absent.
    pub fn text(&self, name: &str) -> ApiResult<Option<&str>> {
        match self.fields.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.contains('\0') => {
                Err(ApiError::field(name, "must not contain NUL characters"))
            }
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::field(name, "wrong type")),
        }
    }

    fn insert(&mut self, key: String, value: Value) {
        let empty = match &value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if empty {
            self.fields.remove(&key);
        } else {
            self.fields.insert(key, value);
        }
    }

    fn from_parts(query: &str, content_type: &str, body: &[u8]) -> ApiResult<Self> {
        let mut input = Input::default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| ApiError::field("query", "malformed query string"))?;
        for (k, v) in pairs {
            input.insert(k, Value::String(v));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(input);
        }
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime == "application/json" || mime.ends_with("+json") {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => map.into_iter().for_each(|(k, v)| input.insert(k, v)),
                Ok(_) => return Err(ApiError::field("body", "must be a JSON object")),
                Err(_) => return Err(ApiError::field("body", "malformed JSON")),
            }
        } else if mime == "application/x-www-form-urlencoded" {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| ApiError::field("body", "malformed form"))?;
            for (k, v) in pairs {
                input.insert(k, Value::String(v));
            }
        } else {
            return Err(ApiError::field(
                "body",
                "send application/json or application/x-www-form-urlencoded",
            ));
        }
        Ok(input)
    }
}

/// The field names a struct reads: serde's own list, which `#[derive(Deserialize)]` hands to
/// `deserialize_struct` (renamed names included). Empty for anything but a plain struct.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a Cell<&'static [&'static str]>);

    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("only the field names are wanted"))
        }

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.set(fields);
            Err(serde::de::Error::custom("only the field names are wanted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let fields = Cell::new(&[][..]);
    let _ = T::deserialize(Probe(&fields));
    fields.get()
}

impl Input {
    /// The request's parameters, read once per request however many extractors ask: the
    /// first caller takes the body, later ones (an authentication extractor looking for a
    /// `token` parameter, then the handler's own `Input`) share what it read.
    pub fn shared(
        req: &HttpRequest,
        payload: &mut Payload,
    ) -> LocalBoxFuture<'static, ApiResult<Self>> {
        let existing = req.extensions().get::<Rc<SharedBody>>().cloned();
        let slot = existing.unwrap_or_else(|| {
            let slot = Rc::new(SharedBody {
                payload: RefCell::new(Some(payload.take())),
                input: tokio::sync::OnceCell::new(),
            });
            req.extensions_mut().insert(slot.clone());
            slot
        });
        let query = req.query_string().to_owned();
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        Box::pin(async move {
            slot.input
                .get_or_init(|| async {
                    let payload = slot.payload.borrow_mut().take();
                    read(payload, declared, &query, &content_type).await
                })
                .await
                .clone()
        })
    }
}

/// The body (taken once) and what was read from it, kept in the request's extensions.
struct SharedBody {
    payload: RefCell<Option<Payload>>,
    input: tokio::sync::OnceCell<ApiResult<Input>>,
}

async fn read(
    payload: Option<Payload>,
    declared: Option<u64>,
    query: &str,
    content_type: &str,
) -> ApiResult<Input> {
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = Vec::new();
    if let Some(mut payload) = payload {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| match e {
                actix_web::error::PayloadError::Io(io)
                    if io.kind() == std::io::ErrorKind::TimedOut =>
                {
                    ApiError::field("body", "not received in time")
                }
                _ => ApiError::field("body", "unreadable body"),
            })?;
            if body.len() + chunk.len() > BODY_LIMIT {
                return Err(ApiError::PayloadTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    Input::from_parts(query, content_type, &body)
}

impl FromRequest for Input {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        Input::shared(req, payload)
    }
}

/// Whether a string anywhere in `value` (keys included) holds a NUL character.
pub fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// The top-level field `T` lacks, when that is why deserialising failed. serde reports it
/// through `Error::missing_field`, whose text it fixes; matching the name against `T`'s own
/// field list keeps anything else (a nested struct's field, another error) from counting.
fn missing_field(
    err: &serde_path_to_error::Error<serde_json::Error>,
    names: &'static [&'static str],
) -> Option<&'static str> {
    if err.path().iter().next().is_some() {
        return None;
    }
    let text = err.inner().to_string();
    let name = text.strip_prefix("missing field `")?.strip_suffix('`')?;
    names.iter().copied().find(|n| *n == name)
}

#[cfg(test)]
mod tests;
