//! The e-mail that carries a code: text and HTML bodies from templates in the request's
//! language, sent through the SMTP transport of `crate::mail`.

use askama::Template;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use crate::codes::{Purpose, TTL};
use crate::error::{ApiError, ApiResult};
use crate::i18n::{self, Lang};
pub use crate::mail::Mailer;

#[derive(Template)]
#[template(path = "mail/code.txt")]
struct CodeText<'a> {
    greeting: &'a str,
    intro: &'a str,
    code: &'a str,
    validity: &'a str,
    ignore: &'a str,
}

#[derive(Template)]
#[template(path = "mail/code.html")]
struct CodeHtml<'a> {
    lang: &'a str,
    subject: &'a str,
    greeting: &'a str,
    intro: &'a str,
    code: &'a str,
    validity: &'a str,
    ignore: &'a str,
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
        let (subject, greeting, intro) = (
            text_of("mail-subject"),
            text_of("mail-greeting"),
            text_of("mail-intro"),
        );
        let (validity, ignore) = (text_of("mail-validity"), text_of("mail-ignore"));
        let lang_tag = lang.tag();
        let text = CodeText {
            greeting: &greeting,
            intro: &intro,
            code,
            validity: &validity,
            ignore: &ignore,
        }
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        let html = CodeHtml {
            lang: &lang_tag,
            subject: &subject,
            greeting: &greeting,
            intro: &intro,
            code,
            validity: &validity,
            ignore: &ignore,
        }
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        let to: Mailbox = to
            .parse()
            .map_err(|_| ApiError::field("number", "not a deliverable e-mail address"))?;
        Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(subject)
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
