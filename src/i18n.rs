//! The message catalogue: every text a person reads, one Fluent file per language under
//! `locales/`, compiled into the binary.
//!
//! Fluent (through `fluent-templates`) rather than `rust-i18n`: its messages carry their own
//! grammar (selectors on a purpose, plural rules per language, references between messages),
//! so a translator fixes a sentence in the file and never asks for code; and the files are
//! checked when the binary is built, so a syntax error in a catalogue fails the build, not a
//! request. Adding a language is adding a folder with the same keys; the tests below fail when
//! a key is missing or extra in any language.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static CATALOGUE = {
        locales: "./locales",
        fallback_language: "zh-CN",
        // No Unicode isolation marks around placeables: texts go into JSON, e-mail subjects
        // and pages that partners compare and people copy.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The catalogue's languages, the default (Simplified Chinese) first, the rest by tag.
static LANGUAGES: LazyLock<Vec<LanguageIdentifier>> = LazyLock::new(|| {
    let default = CATALOGUE.fallback().clone();
    let mut others: Vec<LanguageIdentifier> = CATALOGUE
        .locales()
        .filter(|l| **l != default)
        .cloned()
        .collect();
    others.sort_by_key(|l| l.to_string());
    std::iter::once(default).chain(others).collect()
});

/// A language of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lang(usize);

impl Lang {
    /// Simplified Chinese: what a request gets unless it asks for another language.
    pub const DEFAULT: Lang = Lang(0);

    pub fn all() -> impl Iterator<Item = Lang> {
        (0..LANGUAGES.len()).map(Lang)
    }

    /// The language a tag names: the same tag (`zh-CN`, `en`), or the same primary language
    /// (`zh`, `en-US`); `None` when the catalogue has no such language.
    pub fn parse(tag: &str) -> Option<Lang> {
        let wanted: LanguageIdentifier = tag.trim().parse().ok()?;
        let same = |f: &dyn Fn(&LanguageIdentifier) -> bool| LANGUAGES.iter().position(f);
        same(&|l| *l == wanted)
            .or_else(|| same(&|l| l.language == wanted.language))
            .map(Lang)
    }

    /// Its place in `Lang::all()`.
    pub fn index(self) -> usize {
        self.0
    }

    fn id(self) -> &'static LanguageIdentifier {
        &LANGUAGES[self.0]
    }

    /// The BCP 47 tag, as pages' `lang` attribute and the language cookie carry it.
    pub fn tag(self) -> String {
        self.id().to_string()
    }

    /// The language's name in itself, for the switch between languages.
    pub fn name(self) -> String {
        text(self, "language-name")
    }
}

/// The answers of the token checks (`GET /token` and its refusals), formatted once per
/// language: that path should cost a map lookup here, not a Fluent formatting pass.
const HOT: &[&str] = &[
    "ok",
    "error-token-missing",
    "error-token-invalid",
    "error-token-expired",
    "error-token-revoked",
    "error-token-audience",
    "error-client-auth-failed",
];

static PREFORMATTED: LazyLock<Vec<HashMap<&'static str, String>>> = LazyLock::new(|| {
    Lang::all()
        .map(|lang| {
            HOT.iter()
                .map(|key| (*key, CATALOGUE.lookup(lang.id(), key)))
                .collect()
        })
        .collect()
});

/// The text for `key` in `lang`.
pub fn text(lang: Lang, key: &str) -> String {
    shared_text(lang, key).into_owned()
}

/// [`text`], without a copy for the keys every busy route answers with.
pub fn shared_text(lang: Lang, key: &str) -> Cow<'static, str> {
    match PREFORMATTED[lang.0].get(key) {
        Some(text) => Cow::Borrowed(text.as_str()),
        None => Cow::Owned(CATALOGUE.lookup(lang.id(), key)),
    }
}

/// The text for `key` in `lang`, with its `{ $name }` placeables filled.
pub fn text_with(lang: Lang, key: &str, args: &[(&'static str, FluentValue<'_>)]) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
        .collect();
    CATALOGUE.lookup_with_args(lang.id(), key, &args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The message ids a language's files define, read from the files themselves so that a key
    /// only one language has is caught as well as one it lacks.
    fn keys_in_files(lang: Lang) -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang.tag());
        let mut keys = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ftl") {
                let source = std::fs::read_to_string(&path).unwrap();
                let resource = fluent_bundle::FluentResource::try_new(source)
                    .unwrap_or_else(|(_, errors)| panic!("{}: {errors:?}", path.display()));
                for entry in resource.entries() {
                    if let fluent_syntax::ast::Entry::Message(m) = entry {
                        keys.insert(m.id.name.to_owned());
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn every_language_has_every_key_and_no_other() {
        let default = keys_in_files(Lang::DEFAULT);
        assert!(
            default.len() > 100,
            "the catalogue looks empty: {default:?}"
        );
        for lang in Lang::all() {
            let keys = keys_in_files(lang);
            let missing: Vec<_> = default.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&default).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                lang.tag()
            );
            // Every placeable a message may use, so that formatting fails only on a broken
            // message (a reference to a missing one, say), not on an argument left out here.
            let args: HashMap<&str, FluentValue> = [
                ("what", "x".into()),
                ("purpose", "signup".into()),
                ("minutes", 5.into()),
            ]
            .into_iter()
            .collect();
            for key in &default {
                let looked_up = CATALOGUE.lookup_single_language(lang.id(), key, Some(&args));
                assert!(looked_up.is_ok(), "{} {key}: {looked_up:?}", lang.tag());
            }
        }
    }

    #[test]
    fn tags_and_primary_languages_name_a_language() {
        let en = Lang::parse("en").unwrap();
        assert_eq!(Lang::parse("en-US"), Some(en));
        assert_eq!(Lang::parse("zh"), Some(Lang::DEFAULT));
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::DEFAULT));
        assert_eq!(Lang::DEFAULT.tag(), "zh-CN");
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse("not a tag!"), None);
        assert_eq!(en.name(), "English");
    }

    #[test]
    fn placeables_are_filled_without_isolation_marks() {
        let en = Lang::parse("en").unwrap();
        let text = text_with(en, "error-conflict", &[("what", "name taken".into())]);
        assert_eq!(text, "Conflict: name taken");
        let subject = text_with(en, "mail-subject", &[("purpose", "signup".into())]);
        assert_eq!(subject, "Your Gatehouse sign-up code");
    }
}
