//! The id of the request being answered, for every line logged while answering it.
//!
//! It used to be a `tracing` span around each request. Making that span (the subscriber
//! formats its fields, takes a registry slot, and enters and leaves it on every poll) cost
//! 0.9 µs of the 12.5 µs a token check costs the server (bench section 12), for lines that
//! almost no request logs. The id is now a task-local, read only when a line is written:
//! [`super::logging`] puts it where the span was, so the lines read as before.

use tracing::Subscriber;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::access::{self, Paint};

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
pub fn scope<F: Future>(
    id: RequestId,
    fut: F,
) -> tokio::task::futures::TaskLocalFuture<RequestId, F> {
    CURRENT.scope(id, fut)
}

/// Runs `f` (synchronous) as part of answering the request `id`.
pub fn within<R>(id: RequestId, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(id, f)
}

/// `f`, to run on another thread as part of the request this task is answering: a task-local
/// stays with its task, so a database call or a bcrypt on a blocking thread would otherwise log
/// without the request's id.
pub fn carried<R>(f: impl FnOnce() -> R) -> impl FnOnce() -> R {
    let id = current();
    move || match id {
        Some(id) => within(id, f),
        None => f(),
    }
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
        // A `Writer` of our own is never coloured: the text format colours through its own
        // setting (logging.rs), and the request is painted to match.
        let paint = Paint::for_terminal(writer.has_ansi_escapes());
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        // The span the line names: the event's explicit parent, else the current one, as
        // both formats choose it.
        let spans = ctx.event_scope().is_some();
        match self.json {
            true => with_json_request(&mut line, id, spans),
            false => with_text_request(&mut line, id, event.metadata().level(), spans, paint),
        }
        writer.write_str(&line)
    }
}

/// Puts `request{id=…}:` after the level column, where the outermost span goes, painted as
/// the subscriber paints a span when the line is coloured.
fn with_text_request(
    line: &mut String,
    id: RequestId,
    level: &tracing::Level,
    spans: bool,
    paint: &Paint,
) {
    // The timestamp before it holds digits, `-:.TZ` and colour codes only, never a level's
    // name.
    let Some(mut at) = line.find(level.as_str()).map(|i| i + level.as_str().len()) else {
        return;
    };
    // A coloured level ends with its colour's reset, `ESC [ … m`.
    while line[at..].starts_with("\x1b[") {
        match line[at..].find('m') {
            Some(m) => at += m + 1,
            None => return,
        }
    }
    if !line[at..].starts_with(' ') {
        return;
    }
    at += 1;
    let mut span = Vec::with_capacity(80);
    access::request_span(&mut span, id.as_str(), paint);
    if !spans {
        span.push(b' ');
    }
    // The id is hex digits and the paint ASCII: always text.
    line.insert_str(at, std::str::from_utf8(&span).unwrap_or_default());
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
        with_text_request(
            &mut line,
            id(),
            &tracing::Level::WARN,
            false,
            &access::PLAIN,
        );
        assert_eq!(
            line,
            "2026-12-05T01:00:00.000000Z  WARN request{id=0123456789abcdef0123456789abcdef}: \
             gatehouse::accounts: locked\n"
        );
        let mut line =
            "2026-12-05T01:00:00.000000Z ERROR check_password: gatehouse::accounts: x\n".to_owned();
        with_text_request(
            &mut line,
            id(),
            &tracing::Level::ERROR,
            true,
            &access::PLAIN,
        );
        assert_eq!(
            line,
            "2026-12-05T01:00:00.000000Z ERROR request{id=0123456789abcdef0123456789abcdef}:\
             check_password: gatehouse::accounts: x\n"
        );
    }

    #[test]
    fn a_coloured_text_line_gets_the_request_after_the_level_colour_reset() {
        let mut line = "\x1b[2m2026-12-05T01:00:00.000000Z\x1b[0m \x1b[33m WARN\x1b[0m \
                        \x1b[2mgatehouse::accounts\x1b[0m\x1b[2m:\x1b[0m locked\n"
            .to_owned();
        with_text_request(
            &mut line,
            id(),
            &tracing::Level::WARN,
            false,
            &access::COLOURED,
        );
        let plain: String = strip_colour(&line);
        assert_eq!(
            plain,
            "2026-12-05T01:00:00.000000Z  WARN request{id=0123456789abcdef0123456789abcdef}: \
             gatehouse::accounts: locked\n"
        );
        assert!(line.contains("\x1b[33m WARN\x1b[0m \x1b[1mrequest\x1b[0m"));
    }

    fn strip_colour(line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(at) = rest.find('\x1b') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            rest = &rest[rest.find('m').map_or(rest.len(), |m| m + 1)..];
        }
        out.push_str(rest);
        out
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
    async fn work_sent_to_a_blocking_thread_keeps_the_request() {
        let seen = scope(id(), async {
            let job = carried(|| current().map(|i| i.as_str().to_owned()));
            tokio::task::spawn_blocking(job).await.unwrap()
        })
        .await;
        assert_eq!(seen.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        let outside = tokio::task::spawn_blocking(carried(current)).await.unwrap();
        assert!(outside.is_none());
    }

    #[tokio::test]
    async fn the_id_is_there_inside_the_scope_only() {
        assert!(current().is_none());
        let inside = scope(id(), async { current().map(|i| i.as_str().to_owned()) }).await;
        assert_eq!(inside.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert!(current().is_none());
    }
}
