//! Response language: Simplified Chinese unless `Accept-Language` prefers English.
//!
//! The language is held in a task-local for the duration of a request so that error
//! responses, which actix builds without access to the request, can still pick it.

use actix_web::HttpRequest;
use actix_web::http::header::ACCEPT_LANGUAGE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

tokio::task_local! {
    static LANG: Lang;
}

pub fn current_lang() -> Lang {
    LANG.try_with(|l| *l).unwrap_or(Lang::Zh)
}

pub async fn scope<F: Future>(lang: Lang, fut: F) -> F::Output {
    LANG.scope(lang, fut).await
}

/// Picks the highest-weighted of `zh*` and `en*` in an `Accept-Language` value.
pub fn from_header(value: &str) -> Lang {
    let mut best: Option<(f32, Lang)> = None;
    for part in value.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let lang = if tag.starts_with("en") {
            Lang::En
        } else if tag.starts_with("zh") {
            Lang::Zh
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l).unwrap_or(Lang::Zh)
}

pub fn from_request(req: &HttpRequest) -> Lang {
    req.headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(from_header)
        .unwrap_or(Lang::Zh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_the_default() {
        assert_eq!(from_header(""), Lang::Zh);
        assert_eq!(from_header("fr-FR"), Lang::Zh);
    }

    #[test]
    fn english_wins_when_preferred() {
        assert_eq!(from_header("en-US,en;q=0.9"), Lang::En);
        assert_eq!(from_header("zh-CN;q=0.5, en;q=0.8"), Lang::En);
        assert_eq!(from_header("zh-CN, en;q=0.8"), Lang::Zh);
    }
}
