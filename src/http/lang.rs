//! Which language of the catalogue (`crate::i18n`) a request is answered in: Simplified
//! Chinese unless `Accept-Language` (or, on pages, the `lang` cookie) asks for another.
//!
//! The language is held in a task-local for the duration of a request so that error
//! responses, which actix builds without access to the request, can still pick it.

use actix_web::HttpRequest;
use actix_web::http::header::ACCEPT_LANGUAGE;

pub use crate::i18n::Lang;

tokio::task_local! {
    static LANG: Lang;
}

pub fn current_lang() -> Lang {
    LANG.try_with(|l| *l).unwrap_or(Lang::DEFAULT)
}

pub fn scope<F: Future>(lang: Lang, fut: F) -> tokio::task::futures::TaskLocalFuture<Lang, F> {
    LANG.scope(lang, fut)
}

/// Runs `f` (synchronous) in `lang`.
pub fn sync_scope<R>(lang: Lang, f: impl FnOnce() -> R) -> R {
    LANG.sync_scope(lang, f)
}

/// Picks the highest-weighted language of an `Accept-Language` value that the catalogue has;
/// the first listed wins a tie, and the default serves when none is there.
pub fn from_header(value: &str) -> Lang {
    let mut best: Option<(f32, Lang)> = None;
    for part in value.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let Some(lang) = Lang::parse(tag) else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l).unwrap_or(Lang::DEFAULT)
}

/// The language of a JSON answer: what `Accept-Language` prefers (the contract's rule).
pub fn from_request(req: &HttpRequest) -> Lang {
    req.headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(from_header)
        .unwrap_or(Lang::DEFAULT)
}

/// The language of a page: the `lang` cookie (the pages' visible switch) when it names a
/// language of the catalogue, else `Accept-Language`.
pub fn for_page(req: &HttpRequest) -> Lang {
    req.cookie("lang")
        .and_then(|c| Lang::parse(c.value()))
        .unwrap_or_else(|| from_request(req))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> Lang {
        Lang::parse("en").unwrap()
    }

    #[test]
    fn chinese_is_the_default() {
        assert_eq!(from_header(""), Lang::DEFAULT);
        assert_eq!(from_header("fr-FR"), Lang::DEFAULT);
    }

    #[test]
    fn english_wins_when_preferred() {
        assert_eq!(from_header("en-US,en;q=0.9"), en());
        assert_eq!(from_header("zh-CN;q=0.5, en;q=0.8"), en());
        assert_eq!(from_header("zh-CN, en;q=0.8"), Lang::DEFAULT);
    }
}
