//! The e-mail that carries a code: text and HTML bodies from templates in the request's
//! language, sent through the SMTP transport of `crate::mail`.

use askama::Template;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use crate::codes::{Purpose, TTL};
use crate::error::{ApiError, ApiResult};
use crate::http::lang::Lang;
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

fn purpose_text(purpose: Option<Purpose>, lang: Lang) -> &'static str {
    match (purpose, lang) {
        (Some(Purpose::Signup), Lang::Zh) => "注册",
        (Some(Purpose::Signin), Lang::Zh) => "登录",
        (Some(Purpose::ResetPassword), Lang::Zh) => "重置密码",
        (Some(Purpose::ChangeContact), Lang::Zh) => "更换邮箱",
        (None, Lang::Zh) => "身份验证",
        (Some(Purpose::Signup), Lang::En) => "sign-up",
        (Some(Purpose::Signin), Lang::En) => "sign-in",
        (Some(Purpose::ResetPassword), Lang::En) => "password reset",
        (Some(Purpose::ChangeContact), Lang::En) => "e-mail change",
        (None, Lang::En) => "verification",
    }
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
        let what = purpose_text(purpose, lang);
        let minutes = TTL.as_secs() / 60;
        let (subject, greeting, intro, validity, ignore) = match lang {
            Lang::Zh => (
                format!("Gatehouse {what}验证码"),
                "您好：".to_owned(),
                format!("您正在进行{what}，验证码是："),
                format!("验证码 {minutes} 分钟内有效，只能使用一次。"),
                "如果这不是您本人的操作，请忽略这封邮件，不要把验证码告诉任何人。".to_owned(),
            ),
            Lang::En => (
                format!("Your Gatehouse {what} code"),
                "Hello,".to_owned(),
                format!("Here is your {what} code:"),
                format!("It is valid for {minutes} minutes and can be used once."),
                "If you did not ask for it, ignore this message and do not share the code."
                    .to_owned(),
            ),
        };
        let lang_tag = if lang == Lang::Zh { "zh-CN" } else { "en" };
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
            lang: lang_tag,
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
            .message("a@example.com", "123456", Some(Purpose::Signup), Lang::Zh)
            .unwrap();
        let raw = String::from_utf8(zh.formatted()).unwrap();
        assert!(raw.contains("Subject: =?utf-8?b?") || raw.contains("Subject: Gatehouse"));
        assert!(raw.contains("123456"));
        let en = mailer
            .message(
                "a@example.com",
                "654321",
                Some(Purpose::ResetPassword),
                Lang::En,
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
