//! The id of the request being answered, for every line logged while answering it.
//!
//! It used to be a `tracing` span around each request. Making that span (the subscriber
//! formats its fields, takes a registry slot, and enters and leaves it on every poll) cost
//! 0.9 µs of the 12.5 µs a token check costs the server (bench section 12), for lines that
//! almost no request logs. The id is now a task-local, read only when a line is written:
//! [`super::logging`] puts it where the span was, so the lines read as before.

use std::fmt::Write as _;

use tracing::Subscriber;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A request id: a UUID's 32 lower-case hex digits.
#[derive(Clone, Copy)]
pub struct RequestId([u8; uuid::fmt::Simple::LENGTH]);

impl RequestId {
    pub fn new_random() -> RequestId {
        let mut text = [0u8; uuid::fmt::Simple::LENGTH];
        uuid::Uuid::new_v4().simple().encode_lower(&mut text);
        RequestId(text)
    }

    pub fn as_str(&self) -> &str {
        // Hex digits only, written by `encode_lower`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

tokio::task_local! {
    static CURRENT: RequestId;
}

/// Runs `fut` as the answer to the request `id`.
pub async fn scope<F: Future>(id: RequestId, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

/// The request this task is answering, if any.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(|id| *id).ok()
}

/// The log format around any other: a line logged while answering a request names it, as
/// the request span did: `request{id=…}:` before the spans in text; in JSON `"span":{"id":…,
/// "name":"request"}` when no inner span is current, else `"request_id":…` beside the inner
/// span (which the request span's id never reached).
pub struct Requests<F> {
    pub inner: F,
    pub json: bool,
}

impl<S, N, F> FormatEvent<S, N> for Requests<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let Some(id) = current() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let spans = ctx.lookup_current().is_some();
        match self.json {
            true => with_json_request(&mut line, id, spans),
            false => with_text_request(&mut line, id, event.metadata().level(), spans),
        }
        writer.write_str(&line)
    }
}

/// Puts `request{id=…}:` after the level column, where the outermost span goes.
fn with_text_request(line: &mut String, id: RequestId, level: &tracing::Level, spans: bool) {
    // The timestamp before it holds digits and `-:.TZ` only, never a level's name.
    let Some(at) = line
        .find(level.as_str())
        .map(|i| i + level.as_str().len() + 1)
    else {
        return;
    };
    if at > line.len() {
        return;
    }
    let mut span = String::with_capacity(48);
    let _ = write!(span, "request{{id={}}}:", id.as_str());
    if !spans {
        span.push(' ');
    }
    line.insert_str(at, &span);
}

/// Adds the request as the current span when the line has none, else as `request_id` (the
/// span then is the innermost one, as the subscriber writes it).
fn with_json_request(line: &mut String, id: RequestId, spans: bool) {
    let Some(end) = line.rfind('}') else {
        return;
    };
    let field = match spans {
        false => format!(
            ",\"span\":{{\"id\":\"{}\",\"name\":\"request\"}}",
            id.as_str()
        ),
        true => format!(",\"request_id\":\"{}\"", id.as_str()),
    };
    line.insert_str(end, &field);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> RequestId {
        RequestId(*b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_text_line_names_the_request_where_its_span_went() {
        let mut line = "2026-12-05T01:00:00.000000Z  WARN gatehouse::accounts: locked\n".to_owned();
        with_text_request(&mut line, id(), &tracing::Level::WARN, false);
        assert_eq!(
            line,
            "2026-12-05T01:00:00.000000Z  WARN request{id=0123456789abcdef0123456789abcdef}: \
             gatehouse::accounts: locked\n"
        );
        let mut line =
            "2026-12-05T01:00:00.000000Z ERROR check_password: gatehouse::accounts: x\n".to_owned();
        with_text_request(&mut line, id(), &tracing::Level::ERROR, true);
        assert_eq!(
            line,
            "2026-12-05T01:00:00.000000Z ERROR request{id=0123456789abcdef0123456789abcdef}:\
             check_password: gatehouse::accounts: x\n"
        );
    }

    #[test]
    fn a_json_line_without_a_span_gets_the_request_as_its_span() {
        let mut line = r#"{"timestamp":"t","level":"WARN","message":"m","target":"g"}"#.to_owned();
        line.push('\n');
        with_json_request(&mut line, id(), false);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["span"]["id"], "0123456789abcdef0123456789abcdef");
        assert_eq!(v["span"]["name"], "request");
        assert_eq!(v["message"], "m");
        let mut inner = r#"{"level":"WARN","span":{"name":"db"}}"#.to_owned();
        with_json_request(&mut inner, id(), true);
        let v: serde_json::Value = serde_json::from_str(&inner).unwrap();
        assert_eq!(v["span"]["name"], "db");
        assert_eq!(v["request_id"], "0123456789abcdef0123456789abcdef");
    }

    #[tokio::test]
    async fn the_id_is_there_inside_the_scope_only() {
        assert!(current().is_none());
        let inside = scope(id(), async { current().map(|i| i.as_str().to_owned()) }).await;
        assert_eq!(inside.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert!(current().is_none());
    }
}
