//! CAS's answers (PROTOCOLS §4, "Responses"): always HTTP 200, in XML (the default), JSON
//! (`format=JSON`) or the CAS 1.0 text of `/cas/validate`.

use actix_web::HttpResponse;
use serde_json::{Map, Value, json};

use super::validate::{Failure, Success};

const XML: &str = "application/xml; charset=utf-8";
const NS: &str = "http://www.yale.edu/tp/cas";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// `format=JSON` (any case); XML otherwise.
    pub fn from_param(raw: Option<&str>) -> Format {
        match raw {
            Some(f) if f.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Xml,
        }
    }
}

/// The attributes of a success, in order: `(name, value)`.
fn attributes(s: &Success) -> Vec<(&'static str, String)> {
    let date = chrono::DateTime::from_timestamp(s.auth_time, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut all = vec![
        ("authenticationDate", date),
        ("isFromNewLogin", s.new_login.to_string()),
        ("longTermAuthenticationRequestTokenUsed", "false".to_owned()),
    ];
    let optional = [
        ("username", &s.user.username),
        ("email", &s.user.email),
        ("phone", &s.user.phone),
    ];
    all.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k, v))),
    );
    all
}

/// Text for XML character data and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type(XML).body(format!(
        "<cas:serviceResponse xmlns:cas=\"{NS}\">{body}</cas:serviceResponse>"
    ))
}

fn json_answer(body: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "serviceResponse": body }))
}

pub fn service_response(format: Format, outcome: &Result<Success, Failure>) -> HttpResponse {
    match (format, outcome) {
        (Format::Xml, Ok(s)) => {
            let attrs: String = attributes(s)
                .iter()
                .map(|(k, v)| format!("<cas:{k}>{}</cas:{k}>", escape(v)))
                .collect();
            xml(format!(
                "<cas:authenticationSuccess><cas:user>{}</cas:user><cas:attributes>{attrs}</cas:attributes></cas:authenticationSuccess>",
                escape(&s.user.id)
            ))
        }
        (Format::Xml, Err(f)) => xml(format!(
            "<cas:authenticationFailure code=\"{}\">{}</cas:authenticationFailure>",
            f.code(),
            escape(f.description())
        )),
        (Format::Json, Ok(s)) => {
            let attrs: Map<String, Value> = attributes(s)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), json!([v])))
                .collect();
            json_answer(json!({
                "authenticationSuccess": { "user": s.user.id, "attributes": attrs }
            }))
        }
        (Format::Json, Err(f)) => json_answer(json!({
            "authenticationFailure": { "code": f.code(), "description": f.description() }
        })),
    }
}

/// CAS 1.0: `yes\n<user>\n` or `no\n\n`.
pub fn validate_text(outcome: &Result<Success, Failure>) -> HttpResponse {
    let body = match outcome {
        Ok(s) => format!("yes\n{}\n", s.user.id),
        Err(_) => "no\n\n".to_owned(),
    };
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(body)
}

/// `/cas/proxy`: proxy tickets are not issued.
pub fn proxy_failure(format: Format, code: &str, description: &str) -> HttpResponse {
    match format {
        Format::Xml => xml(format!(
            "<cas:proxyFailure code=\"{code}\">{}</cas:proxyFailure>",
            escape(description)
        )),
        Format::Json => json_answer(json!({
            "proxyFailure": { "code": code, "description": description }
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn json_format_is_asked_for_by_name_in_any_case() {
        assert_eq!(Format::from_param(Some("JSON")), Format::Json);
        assert_eq!(Format::from_param(Some("json")), Format::Json);
        assert_eq!(Format::from_param(Some("XML")), Format::Xml);
        assert_eq!(Format::from_param(None), Format::Xml);
    }
}
