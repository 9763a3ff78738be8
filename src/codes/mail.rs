//! The e-mail that carries a code: text and HTML bodies from templates in the request's
//! language, sent through the SMTP transport of `crate::mail`.

use askama::Template;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use crate::codes::{Purpose, TTL};
use crate::error::{ApiError, ApiResult};
use crate::i18n::{self, Lang};
pub use crate::mail::Mailer;

/// What both bodies of the message say, in the request's language.
struct Body<'a> {
    lang: String,
    subject: String,
    greeting: String,
    intro: String,
    code: &'a str,
    validity: String,
    ignore: String,
}

#[derive(Template)]
#[template(path = "mail/code.txt")]
struct CodeText<'a> {
    m: &'a Body<'a>,
}

#[derive(Template)]
#[template(path = "mail/code.html")]
struct CodeHtml<'a> {
    m: &'a Body<'a>,
}

impl Mailer {
    /// The message for a code, in `lang`: subject and body say what it is for and how long it
    /// is valid.
    pub fn message(
        &self,
        to: &str,
        code: &str,
        purpose: Option<Purpose>,
        lang: Lang,
    ) -> ApiResult<Message> {
        let purpose = purpose.map_or("other", Purpose::as_str);
        let minutes = (TTL.as_secs() / 60).into();
        let args = [("purpose", purpose.into()), ("minutes", minutes)];
        let text_of = |key| i18n::text_with(lang, key, &args);
        let body = Body {
            lang: lang.tag(),
            subject: text_of("mail-subject"),
            greeting: text_of("mail-greeting"),
            intro: text_of("mail-intro"),
            code,
            validity: text_of("mail-validity"),
            ignore: text_of("mail-ignore"),
        };
        let render_failed = |e: askama::Error| ApiError::Internal(e.to_string());
        let text = CodeText { m: &body }.render().map_err(render_failed)?;
        let html = CodeHtml { m: &body }.render().map_err(render_failed)?;
        let to: Mailbox = to
            .parse()
            .map_err(|_| ApiError::field("number", "not a deliverable e-mail address"))?;
        Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(body.subject)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| ApiError::Internal(format!("mail: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_say_what_the_code_is_for_and_how_long_it_lasts() {
        let mailer =
            Mailer::new("smtp://127.0.0.1:2525", "Gatehouse <noreply@example.com>").unwrap();
        let zh = mailer
            .message(
                "a@example.com",
                "123456",
                Some(Purpose::Signup),
                Lang::DEFAULT,
            )
            .unwrap();
        let raw = String::from_utf8(zh.formatted()).unwrap();
        assert!(raw.contains("Subject: =?utf-8?b?") || raw.contains("Subject: Gatehouse"));
        assert!(raw.contains("123456"));
        let en = mailer
            .message(
                "a@example.com",
                "654321",
                Some(Purpose::ResetPassword),
                Lang::parse("en").unwrap(),
            )
            .unwrap();
        let raw = String::from_utf8(en.formatted()).unwrap();
        assert!(
            raw.contains("Subject: Your Gatehouse password reset code"),
            "{raw}"
        );
        assert!(raw.contains("valid for 5 minutes"));
        assert!(raw.contains("text/html"));
    }
}
