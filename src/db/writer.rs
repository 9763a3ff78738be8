//! SQLite's writer: one thread, below normal priority, that runs every write in turn.

/// The nice value of SQLite's writer thread. On a busy server writes queue for the one writer
/// anyway; a little below normal priority, the writer gives way to the readers and to the
/// workers answering requests. Under bench section 13 (1,000 connections flat out, 2 cores),
/// five alternating pairs of runs gave the account read a median p99 of 26.7 ms against
/// 55.0 ms at normal priority, for 3 % fewer refreshes a second.
pub(super) const WRITER_NICE: i32 = 5;

pub(super) type Job = Box<dyn FnOnce() + Send>;

/// Starts the thread that runs SQLite's writes, one at a time in the order they come; it ends
/// when the last handle to it is dropped.
pub(super) fn start() -> std::io::Result<std::sync::mpsc::Sender<Job>> {
    let (jobs, next) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("gatehouse-db-writer".into())
        .spawn(move || {
            crate::blocking::nice_this_thread(WRITER_NICE);
            while let Ok(job) = next.recv() {
                // A closure that panics must not take every later write with it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
        })?;
    Ok(jobs)
}
