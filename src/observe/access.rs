//! The request line: one per answered request, formatted by hand and gathered for the log
//! thread in batches (`handoff`).
//!
//! Going through `tracing` cost the token check about a tenth of its CPU (the event's field
//! visitors, the timestamp's `Display`, the span lookup), for a line whose fields are always
//! the same five. The line has the layout the subscriber gives every other line, in either
//! format, so a reader or a log shipper sees no difference: in text, `timestamp  INFO
//! request{id=…}: target: request method=… path=… status=… elapsed_ms=…`; in JSON, the same
//! keys as the subscriber's (`timestamp`, `level`, `message`, the fields, `target`, `span`).
//!
//! Without an installed sink (unit tests, or before [`super::logging::init`]) nothing is
//! written here and the caller logs through `tracing` instead.

use std::cell::Cell;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use tracing_appender::non_blocking::NonBlocking;

use super::handoff::{self, Handoff};
use super::logging::LogFormat;

/// The `target` the line names: the module that logged it before it was written by hand.
const TARGET: &str = "gatehouse::http::middleware";

struct Sink {
    batches: &'static Handoff,
    format: LogFormat,
    paint: &'static Paint,
}

/// The terminal colours the subscriber gives a text line's parts (none off a terminal).
pub(super) struct Paint {
    dim: &'static [u8],
    bold: &'static [u8],
    italic: &'static [u8],
    green: &'static [u8],
    reset: &'static [u8],
}

impl Paint {
    /// The colours of a line written to a terminal (`ansi`), else none.
    pub(super) fn for_terminal(ansi: bool) -> &'static Paint {
        match ansi {
            true => &COLOURED,
            false => &PLAIN,
        }
    }

    /// `part` in `style`.
    fn on(&self, buf: &mut Vec<u8>, style: &[u8], part: &[u8]) {
        buf.extend_from_slice(style);
        buf.extend_from_slice(part);
        buf.extend_from_slice(self.reset);
    }
}

pub(super) const PLAIN: Paint = Paint {
    dim: b"",
    bold: b"",
    italic: b"",
    green: b"",
    reset: b"",
};

pub(super) const COLOURED: Paint = Paint {
    dim: b"\x1b[2m",
    bold: b"\x1b[1m",
    italic: b"\x1b[3m",
    green: b"\x1b[32m",
    reset: b"\x1b[0m",
};

static SINK: OnceLock<Sink> = OnceLock::new();

/// Called once by the logger's set-up; a second call is ignored.
pub(super) fn install(writer: NonBlocking, format: LogFormat, paint: &'static Paint) {
    if let Some(batches) = handoff::install(writer) {
        let _ = SINK.set(Sink {
            batches,
            format,
            paint,
        });
    }
}

impl Sink {
    /// Formats the line straight into the thread's gathered lines.
    fn write(&self, line: &Line<'_>) {
        self.batches.gather(|buf| {
            // Since the epoch: the calendar date is worked out once a second (`timestamp`).
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            match self.format {
                LogFormat::Text => text(buf, now, line, self.paint),
                LogFormat::Json => json(buf, now, line),
            }
        });
    }
}

/// What the line says about one request. `path` never holds the query string.
pub struct Line<'a> {
    pub id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub elapsed_ms: f64,
}

thread_local! {
    /// The whole second of the last timestamp and its text (`2026-12-04T18:25:18`).
    static SECOND: Cell<(i64, [u8; 19])> = const { Cell::new((i64::MIN, [0; 19])) };
}

/// Writes the line; false when no sink is installed.
pub fn write(line: &Line<'_>) -> bool {
    let Some(sink) = SINK.get() else {
        return false;
    };
    sink.write(line);
    true
}

fn text(buf: &mut Vec<u8>, now: Duration, line: &Line<'_>, p: &Paint) {
    buf.extend_from_slice(p.dim);
    timestamp(buf, now);
    buf.extend_from_slice(p.reset);
    buf.push(b' ');
    p.on(buf, p.green, b" INFO");
    buf.push(b' ');
    request_span(buf, line.id, p);
    buf.push(b' ');
    p.on(buf, p.dim, TARGET.as_bytes());
    p.on(buf, p.dim, b":");
    buf.extend_from_slice(b" request");
    let key = |buf: &mut Vec<u8>, name: &str| {
        buf.push(b' ');
        p.on(buf, p.italic, name.as_bytes());
        p.on(buf, p.dim, b"=");
    };
    key(buf, "method");
    escaped(buf, line.method);
    key(buf, "path");
    escaped(buf, line.path);
    key(buf, "status");
    number(buf, u64::from(line.status));
    key(buf, "elapsed_ms");
    hundredths(buf, line.elapsed_ms);
    buf.push(b'\n');
}

/// `request{id=…}:`, as the subscriber writes the request span it stands for.
pub(super) fn request_span(buf: &mut Vec<u8>, id: &str, p: &Paint) {
    p.on(buf, p.bold, b"request");
    p.on(buf, p.bold, b"{");
    buf.extend_from_slice(b"id=");
    escaped(buf, id);
    p.on(buf, p.bold, b"}");
    p.on(buf, p.dim, b":");
}

fn json(buf: &mut Vec<u8>, now: Duration, line: &Line<'_>) {
    buf.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(buf, now);
    buf.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\",\"method\":");
    crate::json::string(buf, line.method);
    buf.extend_from_slice(b",\"path\":");
    crate::json::string(buf, line.path);
    buf.extend_from_slice(b",\"status\":");
    number(buf, u64::from(line.status));
    buf.extend_from_slice(b",\"elapsed_ms\":");
    hundredths(buf, line.elapsed_ms);
    buf.extend_from_slice(b",\"target\":\"");
    buf.extend_from_slice(TARGET.as_bytes());
    buf.extend_from_slice(b"\",\"span\":{\"id\":");
    crate::json::string(buf, line.id);
    buf.extend_from_slice(b",\"name\":\"request\"}}\n");
}

/// RFC 3339 in UTC with microseconds, as the subscriber writes it; the date and time of day
/// are formatted once a second per thread.
fn timestamp(buf: &mut Vec<u8>, now: Duration) {
    let second = now.as_secs() as i64;
    let text = SECOND.with(|cached| {
        let (at, text) = cached.get();
        if at == second {
            return text;
        }
        let mut fresh = [0u8; 19];
        let formatted = chrono::DateTime::from_timestamp(second, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        let n = formatted.len().min(19);
        fresh[..n].copy_from_slice(&formatted.as_bytes()[..n]);
        cached.set((second, fresh));
        fresh
    });
    buf.extend_from_slice(&text);
    buf.push(b'.');
    padded(buf, u64::from(now.subsec_micros()), 6);
    buf.push(b'Z');
}

/// A whole number in decimal (`core::fmt` costs more than the line's other parts together).
fn number(buf: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

/// `n` in exactly `width` digits, zeros first.
fn padded(buf: &mut Vec<u8>, n: u64, width: u32) {
    let mut div = 10u64.pow(width.saturating_sub(1));
    while div > 0 {
        buf.push(b'0' + ((n / div) % 10) as u8);
        div /= 10;
    }
}

/// Milliseconds with two decimals, rounded (`0.126` is `0.13`).
fn hundredths(buf: &mut Vec<u8>, ms: f64) {
    let h = (ms.max(0.0) * 100.0).round() as u64;
    number(buf, h / 100);
    buf.push(b'.');
    padded(buf, h % 100, 2);
}

/// Text as the subscriber writes a field: control characters escaped, so a value cannot start
/// a line of its own or colour a terminal.
fn escaped(buf: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| b.is_ascii_control()) {
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    for c in s.chars() {
        if c.is_ascii_control() {
            let _ = write!(buf, "{}", c.escape_default());
        } else {
            let mut utf8 = [0u8; 4];
            buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> Duration {
        let second = chrono::Utc
            .with_ymd_and_hms(2026, 12, 4, 18, 25, 18)
            .unwrap()
            .timestamp();
        Duration::from_secs(second as u64) + Duration::from_micros(1_234)
    }

    fn line(path: &str) -> Line<'_> {
        Line {
            id: "0f3a",
            method: "GET",
            path,
            status: 200,
            elapsed_ms: 0.126,
        }
    }

    #[test]
    fn the_text_line_has_the_subscribers_layout() {
        let mut buf = Vec::new();
        text(&mut buf, at(), &line("/token"), &PLAIN);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "2026-12-04T18:25:18.001234Z  INFO request{id=0f3a}: gatehouse::http::middleware: \
             request method=GET path=/token status=200 elapsed_ms=0.13\n"
        );
    }

    /// What the subscriber writes for the same event on a terminal (taken from its output).
    #[test]
    fn the_coloured_text_line_is_painted_as_the_subscriber_paints() {
        let mut buf = Vec::new();
        text(&mut buf, at(), &line("/token"), &COLOURED);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "\x1b[2m2026-12-04T18:25:18.001234Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[1mrequest\x1b[0m\
             \x1b[1m{\x1b[0mid=0f3a\x1b[1m}\x1b[0m\x1b[2m:\x1b[0m \
             \x1b[2mgatehouse::http::middleware\x1b[0m\x1b[2m:\x1b[0m request \
             \x1b[3mmethod\x1b[0m\x1b[2m=\x1b[0mGET \x1b[3mpath\x1b[0m\x1b[2m=\x1b[0m/token \
             \x1b[3mstatus\x1b[0m\x1b[2m=\x1b[0m200 \x1b[3melapsed_ms\x1b[0m\x1b[2m=\x1b[0m0.13\n"
        );
    }

    #[test]
    fn the_json_line_is_one_object_with_the_subscribers_keys() {
        let mut buf = Vec::new();
        json(&mut buf, at(), &line("/a\"b\\c"));
        let text = String::from_utf8(buf).unwrap();
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["timestamp"], "2026-12-04T18:25:18.001234Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "request");
        assert_eq!(v["path"], "/a\"b\\c");
        assert_eq!(v["status"], 200);
        assert_eq!(v["elapsed_ms"], 0.13);
        assert_eq!(v["target"], TARGET);
        assert_eq!(v["span"]["id"], "0f3a");
        assert_eq!(v["span"]["name"], "request");
    }

    #[test]
    fn control_characters_cannot_start_a_line_of_their_own() {
        let mut buf = Vec::new();
        text(
            &mut buf,
            at(),
            &line("/x\n2026-01-01T00:00:00Z  INFO forged\u{1b}[31m"),
            &PLAIN,
        );
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("/x\\n2026"), "{text}");
    }

    #[test]
    fn numbers_are_written_as_format_would() {
        for (n, want) in [
            (0u64, "0"),
            (7, "7"),
            (200, "200"),
            (u64::MAX, "18446744073709551615"),
        ] {
            let mut buf = Vec::new();
            number(&mut buf, n);
            assert_eq!(String::from_utf8(buf).unwrap(), want);
        }
        for ms in [0.0, 0.004, 0.005, 0.126, 1.0, 12.345, 999.999, 61_234.5] {
            let mut buf = Vec::new();
            hundredths(&mut buf, ms);
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                format!("{:.2}", (ms * 100.0f64).round() / 100.0)
            );
        }
        let mut buf = Vec::new();
        padded(&mut buf, 42, 6);
        assert_eq!(buf, b"000042");
    }

    #[test]
    fn the_cached_second_follows_the_clock() {
        let mut buf = Vec::new();
        timestamp(&mut buf, at());
        timestamp(&mut buf, at() + Duration::from_secs(61));
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "2026-12-04T18:25:18.001234Z2026-12-04T18:26:19.001234Z"
        );
    }
}
