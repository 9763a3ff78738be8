//! Page text from the message catalogue (`crate::i18n`, keys `page-…`), in the language the
//! `lang` cookie (the visible switch) or else `Accept-Language` asks for.

use std::sync::LazyLock;

use actix_web::HttpRequest;

use crate::http::lang;
use crate::i18n::Lang;

/// Declares the page texts once: each field is the catalogue's `page-<field>` (underscores as
/// hyphens), looked up once per language when a page first needs it.
macro_rules! page_texts {
    ($($field:ident),* $(,)?) => {
        pub struct Texts {
            /// The BCP 47 tag, for `<html lang>`.
            pub lang: &'static str,
            /// The other languages as (tag, name in itself), for the switch.
            pub other_langs: Vec<(&'static str, &'static str)>,
            $(pub $field: &'static str,)*
        }

        impl Texts {
            /// The catalogue keys the pages use.
            pub const KEYS: &[&str] = &[$(stringify!($field)),*];

            /// Built once per language for the life of the process (`TEXTS`), so the texts
            /// are leaked into `&'static str` that pages and errors can hold.
            fn build(lang: Lang) -> Texts {
                let text = |field: &str| crate::i18n::text(lang, &key(field)).leak() as &str;
                Texts {
                    lang: lang.tag().leak(),
                    other_langs: Lang::all()
                        .filter(|l| *l != lang)
                        .map(|l| (l.tag().leak() as &str, l.name().leak() as &str))
                        .collect(),
                    $($field: text(stringify!($field)),)*
                }
            }
        }
    };
}

fn key(field: &str) -> String {
    format!("page-{}", field.replace('_', "-"))
}

page_texts! {
    product,
    sign_in,
    sign_in_to,
    tab_password,
    tab_code,
    number,
    number_hint,
    password,
    captcha,
    captcha_refresh,
    code,
    send_code,
    sign_up,
    forgot,
    new_password,
    old_password,
    username,
    reset,
    account,
    sessions,
    systems,
    none,
    this_device,
    end_session,
    sign_out,
    sign_out_all,
    change_password,
    saved,
    signed_out,
    signed_out_text,
    error_title,
    err_callback,
    err_forbidden,
    err_generic,
    err_credentials,
    err_captcha,
    err_code,
    err_required,
    err_number,
    err_locked,
    err_disabled,
    err_not_found,
    err_exists,
    err_weak,
    err_unavailable,
    signup_done,
    reset_done,
    admin,
    partners,
    users,
    deliveries,
    name,
    callbacks,
    callbacks_hint,
    redirect_uris,
    post_logout_redirect_uris,
    uris_hint,
    auth_method,
    id_token_alg,
    oidc_only,
    sign_out_of,
    sign_out_confirm,
    err_flow_expired,
    logout_url,
    mode,
    enabled,
    create,
    save,
    rotate,
    disable,
    enable,
    search,
    force_sign_out,
    state,
    attempts,
    last_error,
    backlog,
    recent_signins,
    audit,
    event,
    detail,
    page,
    previous,
    next,
    when,
    how,
    pending,
    oldest_pending,
    secret_once,
    signing_keys,
    rotate_key,
    retires_at,
}

static TEXTS: LazyLock<Vec<Texts>> = LazyLock::new(|| Lang::all().map(Texts::build).collect());

pub fn texts(req: &HttpRequest) -> &'static Texts {
    let lang = lang::for_page(req);
    &TEXTS[lang.index()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_text_is_in_every_language() {
        for lang in Lang::all() {
            for field in Texts::KEYS {
                let text = crate::i18n::text(lang, &key(field));
                assert!(
                    !text.is_empty() && !text.starts_with("Unknown localization"),
                    "{}: {} is missing",
                    lang.tag(),
                    key(field)
                );
            }
        }
    }
}
