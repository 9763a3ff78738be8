//! Logs on stderr, as text (the default) or as JSON lines (`GATEHOUSE_LOG_FORMAT=json`),
//! filtered by `GATEHOUSE_LOG` (`RUST_LOG` syntax, default `info`).
//!
//! Lines are formatted on the thread that logs them but written by a thread of their own,
//! in batches: a request's worker never waits for stderr, and under load many lines share one
//! write. Nothing is dropped: when that thread falls behind by [`QUEUED_LINES`] messages,
//! loggers wait.
//! The request line skips the subscriber (`access`): each thread gathers its request lines and
//! hands them to the log thread about a hundred at a time, or after about 50 ms (later if the
//! log thread is behind; `handoff`). A line logged while answering a request names that request
//! (`request_id`).

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::JsonFields;

use super::request_id::Requests;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// `GATEHOUSE_LOG_FORMAT`: `text` or `json`, any other value refused.
    pub fn from_env() -> Result<LogFormat, String> {
        match std::env::var("GATEHOUSE_LOG_FORMAT") {
            Err(_) => Ok(LogFormat::Text),
            Ok(v) if v.eq_ignore_ascii_case("text") => Ok(LogFormat::Text),
            Ok(v) if v.eq_ignore_ascii_case("json") => Ok(LogFormat::Json),
            Ok(v) => Err(format!(
                "GATEHOUSE_LOG_FORMAT: `{v}` is neither `text` nor `json`"
            )),
        }
    }
}

/// How many messages may wait for the log thread: a line, or a thread's batch of request lines
/// (at most about 16 KB, `handoff::HANDOFF_BYTES`), so a stalled stderr holds back at most about
/// 32 MB before loggers wait. The log thread writes a waiting line in microseconds, so only a
/// stall fills it. The queue is allocated, and every slot written, up front: tracing-appender's
/// default of 128,000 held 4 MB of an idle server's memory.
const QUEUED_LINES: usize = 2_048;

/// Keep it until exit: dropping it writes what is left, the request lines still gathered on
/// their threads included.
pub struct LogGuard {
    _log_thread: WorkerGuard,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // Before the log thread's guard (a field, dropped after this) flushes and stops it.
        super::handoff::hand_off_all();
    }
}

/// Installs the process's logger.
pub fn init(format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_from_env("GATEHOUSE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = format == LogFormat::Text && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("gatehouse-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    super::access::install(
        writer.clone(),
        format,
        super::access::Paint::for_terminal(ansi),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder
            .event_format(Requests {
                // Coloured through the format, not the writer: `Requests` formats into a
                // buffer of its own to put the request in.
                inner: tracing_subscriber::fmt::format().with_ansi(ansi),
                json: false,
            })
            .init(),
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(Requests {
                inner: tracing_subscriber::fmt::format()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
                json: true,
            })
            .init(),
    }
    LogGuard { _log_thread: guard }
}
