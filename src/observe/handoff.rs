//! Request lines on their way to the log thread: each thread gathers its lines and hands them
//! over as one message once [`HANDOFF_BYTES`] wait, a thread of this module takes what waits
//! every [`HANDOFF_EVERY`], a thread hands off what it gathered as it ends, and
//! [`hand_off_all`] takes the rest at exit. Sent one by one, each line cost an allocation, a
//! channel message and, often, waking the log thread: about a tenth of a token check's CPU.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tracing_appender::non_blocking::NonBlocking;

/// About a hundred request lines: one message, one wake-up of the log thread and one `write`
/// for all of them. The log thread's queue counts messages (`logging::QUEUED_LINES`), so this
/// also bounds what a stalled stderr can hold back: 2,048 messages of at most about 16 KB.
const HANDOFF_BYTES: usize = 16 * 1024;
const HANDOFF_EVERY: Duration = Duration::from_millis(50);

/// Where gathered lines go: the log thread's writer.
pub(super) struct Handoff {
    writer: NonBlocking,
}

static INSTALLED: OnceLock<Handoff> = OnceLock::new();

/// The process's hand-off to `writer`, with its thread started; `None` on a second call.
pub(super) fn install(writer: NonBlocking) -> Option<&'static Handoff> {
    INSTALLED.set(Handoff { writer }).ok()?;
    // Should the thread not start, lines still go out HANDOFF_BYTES at a time, when their
    // thread ends and at exit: late on a quiet server, never lost.
    let _ = std::thread::Builder::new()
        .name("gatehouse-log-handoff".into())
        .spawn(|| {
            loop {
                std::thread::sleep(HANDOFF_EVERY);
                hand_off_all();
            }
        });
    INSTALLED.get()
}

/// Hands every thread's waiting lines to the log thread.
pub(super) fn hand_off_all() {
    if let Some(installed) = INSTALLED.get() {
        installed.hand_off_all();
    }
}

/// A thread's lines not yet handed to the log thread.
type Pending = Arc<Mutex<Vec<u8>>>;

/// Every thread's pending lines, for the hand-off thread to empty; a thread's are dropped from
/// here once it has ended and they are handed off.
static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());

/// This thread's entry in [`PENDING`]; as the thread ends, what it gathered is handed off, so
/// a line it writes while being torn down (sent alone) cannot overtake its earlier ones.
struct Mine(Pending);

impl Drop for Mine {
    fn drop(&mut self) {
        if let Some(installed) = INSTALLED.get() {
            installed.hand_off(&mut locked(&self.0));
        }
    }
}

thread_local! {
    static MINE: Mine = {
        let pending = Pending::default();
        locked(&PENDING).push(pending.clone());
        Mine(pending)
    };
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Handoff {
    /// Has `write` append lines to this thread's, handing them all over once [`HANDOFF_BYTES`]
    /// wait. They are written in place: no buffer of their own, no copy.
    pub(super) fn gather(&self, write: impl Fn(&mut Vec<u8>)) {
        let gathered = MINE.try_with(|mine| {
            let mut pending = locked(&mine.0);
            write(&mut pending);
            if pending.len() >= HANDOFF_BYTES {
                self.hand_off(&mut pending);
            }
        });
        // A thread being torn down has no list of its own any more, and what it gathered went
        // out as `MINE` was dropped: these go alone, after them.
        if gathered.is_err() {
            let mut alone = Vec::new();
            write(&mut alone);
            self.send(&alone);
        }
    }

    /// Sends a thread's gathered lines as one message, under their lock, so they reach the log
    /// in the order the thread wrote them.
    fn hand_off(&self, pending: &mut Vec<u8>) {
        if !pending.is_empty() {
            self.send(pending);
            pending.clear();
        }
    }

    fn send(&self, lines: &[u8]) {
        // The log thread never refuses a message (it makes the sender wait instead). A clone is
        // two reference counts; the writer itself wants `&mut`.
        let _ = self.writer.clone().write_all(lines);
    }

    /// Hands every thread's waiting lines to the log thread, and forgets threads that ended.
    fn hand_off_all(&self) {
        locked(&PENDING).retain(|pending| {
            // Counted first: a thread that ends after this still finds its buffer here next
            // time, and one that had ended can no longer add to it.
            let running = Arc::strong_count(pending) > 1;
            self.hand_off(&mut locked(pending));
            running
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the log thread wrote, for a test to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            locked(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(locked(&self.0).clone())
                .unwrap()
                .lines()
                .map(|l| l.trim_end().to_owned())
                .collect()
        }
    }

    const THREADS: usize = 4;
    /// Not a multiple of a batch: some lines of each thread are left below HANDOFF_BYTES.
    const LINES: usize = 301;
    /// About a request line's length.
    const LINE_BYTES: usize = 140;

    /// The tests below share [`PENDING`]: one at a time.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    /// A hand-off of the tests' own (none is installed in unit tests) and what it wrote.
    fn test_handoff() -> (
        Arc<Handoff>,
        Captured,
        tracing_appender::non_blocking::WorkerGuard,
    ) {
        let captured = Captured::default();
        let (writer, log_thread) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .finish(captured.clone());
        (Arc::new(Handoff { writer }), captured, log_thread)
    }

    /// `THREADS` threads each gathering `LINES` lines, `/t{thread}/{line}`, then ending.
    fn writers(handoff: &Arc<Handoff>) -> Vec<std::thread::JoinHandle<()>> {
        (0..THREADS)
            .map(|t| {
                let handoff = handoff.clone();
                std::thread::spawn(move || {
                    for i in 0..LINES {
                        let line =
                            format!("{:<width$}\n", format!("/t{t}/{i}"), width = LINE_BYTES - 1);
                        handoff.gather(|buf| buf.extend_from_slice(line.as_bytes()));
                    }
                })
            })
            .collect()
    }

    fn each_line_once_in_order(lines: &[String]) {
        assert_eq!(lines.len(), THREADS * LINES);
        for t in 0..THREADS {
            let mine: Vec<&String> = lines
                .iter()
                .filter(|p| p.starts_with(&format!("/t{t}/")))
                .collect();
            let expected: Vec<String> = (0..LINES).map(|i| format!("/t{t}/{i}")).collect();
            assert_eq!(mine, expected.iter().collect::<Vec<_>>(), "thread {t}");
        }
    }

    #[test]
    fn lines_handed_off_while_threads_write_and_end_are_neither_lost_nor_reordered() {
        let _one = locked(&ONE_AT_A_TIME);
        let (handoff, captured, log_thread) = test_handoff();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let hand_offs = {
            let (handoff, done) = (handoff.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    handoff.hand_off_all();
                }
            })
        };
        for w in writers(&handoff) {
            w.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        hand_offs.join().unwrap();
        handoff.hand_off_all();
        drop(log_thread);
        each_line_once_in_order(&captured.lines());
    }

    #[test]
    fn every_threads_gathered_lines_reach_the_log_once_and_in_the_order_written() {
        let _one = locked(&ONE_AT_A_TIME);
        let (handoff, captured, log_thread) = test_handoff();
        for w in writers(&handoff) {
            w.join().unwrap();
        }
        // Each thread wrote well over HANDOFF_BYTES: it handed batches off on its own.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while captured.lines().len() < THREADS * HANDOFF_BYTES / 200 {
            assert!(
                std::time::Instant::now() < deadline,
                "no batch was handed off"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let waiting: usize = locked(&PENDING).iter().map(|p| locked(p).len()).sum();
        assert!(waiting > 0, "the rest waits");
        assert!(captured.lines().len() < THREADS * LINES, "the rest waits");
        // The threads ended; what they gathered is still handed off, and they are forgotten.
        handoff.hand_off_all();
        assert!(locked(&PENDING).iter().all(|p| Arc::strong_count(p) > 1));
        drop(log_thread);
        each_line_once_in_order(&captured.lines());
    }
}
