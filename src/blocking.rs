//! CPU-heavy work off the async workers, in lanes: bcrypt, captcha drawing and RSA decryption
//! each have their own bounded lane, so a storm of one kind (300 concurrent sign-ins at cost
//! 12) waits behind its own kind only and the sign-in page's captcha is drawn at once.
//!
//! A lane runs at most one job per core at once; a job keeps its worker until it really ends
//! (a cancelled request cannot free a core its job still uses). A caller first takes a place
//! ([`Lane::admit`]); past the lane's capacity (its workers and `max_waiting` queued jobs) a
//! place is refused at once with 503 `unavailable` and a `Retry-After` estimated from how long
//! the lane's jobs take. Sign-in takes its bcrypt place before it uses up the captcha or
//! touches the database, so a refusal costs the client nothing and the server next to nothing.
//!
//! bcrypt runs on threads of its own at a lower scheduling priority (nice 10): when it has
//! every core busy, drawing a captcha, answering a page or checking a token still gets a core
//! as soon as it asks for one. Alone on the machine it runs as fast as ever.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::error::{ApiError, ApiResult};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Where a lane's jobs run.
enum Executor {
    /// Tokio's blocking pool, at normal priority.
    Blocking,
    /// Threads of the lane's own, started with a lower priority.
    Background(mpsc::Sender<Job>),
}

#[derive(Clone)]
pub struct Lane {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    workers: usize,
    permits: Arc<Semaphore>,
    /// Jobs admitted and not yet finished: queued or running.
    admitted: AtomicUsize,
    capacity: usize,
    /// Moving average of a job's duration, in microseconds (for `Retry-After`).
    average_us: AtomicU64,
    executor: Executor,
}

/// A place in a lane, held from [`Lane::admit`] until the job ends (or the place is dropped).
pub struct Admission {
    slot: Slot,
}

/// Gives the place back however it ends.
struct Slot(Arc<Inner>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Lane {
    /// A lane on Tokio's blocking pool.
    pub fn new(name: &'static str, workers: usize, max_waiting: usize) -> Self {
        Self::build(name, workers, max_waiting, Executor::Blocking)
    }

    /// A lane on `workers` threads of its own at a lower scheduling priority.
    pub fn background(name: &'static str, workers: usize, max_waiting: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("gatehouse-{name}-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // A poisoned lock only means a job panicked; the receiver is intact.
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(%err, lane = name, "cannot start a worker thread");
            }
        }
        Self::build(name, workers, max_waiting, Executor::Background(tx))
    }

    fn build(name: &'static str, workers: usize, max_waiting: usize, executor: Executor) -> Self {
        let workers = workers.max(1);
        Lane {
            inner: Arc::new(Inner {
                name,
                workers,
                permits: Arc::new(Semaphore::new(workers)),
                admitted: AtomicUsize::new(0),
                capacity: workers + max_waiting,
                average_us: AtomicU64::new(0),
                executor,
            }),
        }
    }

    /// Jobs admitted and not finished (running or queued).
    pub fn admitted(&self) -> usize {
        self.inner.admitted.load(Ordering::Acquire)
    }

    /// Takes a place, or refuses at once with 503 and a time to come back.
    pub fn admit(&self) -> ApiResult<Admission> {
        let inner = &self.inner;
        let before = inner.admitted.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(inner.clone());
        if before >= inner.capacity {
            let queued = before + 1 - inner.workers;
            return Err(self.busy(queued));
        }
        Ok(Admission { slot })
    }

    fn busy(&self, queued: usize) -> ApiError {
        let average = Duration::from_micros(self.inner.average_us.load(Ordering::Relaxed));
        let drain = average.mul_f64(queued as f64 / self.inner.workers as f64);
        ApiError::Busy {
            what: self.inner.name,
            retry_after: drain.as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    /// Admits and runs `f`.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.admit()?.run(f).await
    }
}

impl Admission {
    /// Waits for a worker and runs `f` on it.
    pub async fn run<T, F>(self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let inner = self.slot.0.clone();
        let permit = inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Unavailable(format!("{} lane closed", inner.name)))?;
        let job = Running {
            _permit: permit,
            _slot: self.slot,
            started: Instant::now(),
        };
        let (tx, rx) = oneshot::channel();
        let work = crate::observe::request_id::carried(move || {
            let out = f();
            job.finish();
            let _ = tx.send(out);
        });
        match &inner.executor {
            Executor::Blocking => {
                tokio::task::spawn_blocking(work);
            }
            Executor::Background(sender) => sender
                .send(Box::new(work))
                .map_err(|_| ApiError::Unavailable(format!("{} lane stopped", inner.name)))?,
        }
        rx.await
            .map_err(|_| ApiError::Internal(format!("{} job failed", inner.name)))
    }
}

/// A job on a worker: its permit and place are given back when it ends, panics included.
struct Running {
    _permit: OwnedSemaphorePermit,
    _slot: Slot,
    started: Instant,
}

impl Running {
    fn finish(self) {
        let inner = &self._slot.0;
        let us = self.started.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
        let old = inner.average_us.load(Ordering::Relaxed);
        let new = if old == 0 { us } else { (old * 7 + us) / 8 };
        inner.average_us.store(new, Ordering::Relaxed);
    }
}

fn lower_priority() {
    nice_this_thread(10);
}

/// Raises the calling thread's nice value to `nice`.
#[cfg(target_os = "linux")]
pub fn nice_this_thread(nice: i32) {
    // SAFETY: plain system calls on the calling thread's own id; raising one's nice value
    // needs no privilege. A failure leaves the thread at normal priority, which is only slower
    // to yield.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice);
    }
}

#[cfg(not(target_os = "linux"))]
pub fn nice_this_thread(_nice: i32) {}

/// The lanes of one instance.
#[derive(Clone)]
pub struct Lanes {
    pub bcrypt: Lane,
    pub captcha: Lane,
    pub rsa: Lane,
}

impl Lanes {
    /// One worker per core in each lane; `bcrypt_queue` bcrypt jobs may wait.
    pub fn for_this_machine(bcrypt_queue: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Lanes {
            bcrypt: Lane::background("bcrypt", cores, bcrypt_queue),
            // Drawing takes about 0.3 ms and decrypting about 1 ms: a queue this long is a
            // fraction of a second, and only an attack fills it.
            captcha: Lane::new("captcha", cores, 512),
            rsa: Lane::new("rsa", cores, 512),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Occupies the lane's only worker until the returned sender is used (or dropped).
    async fn hold_worker(
        lane: &Lane,
    ) -> (mpsc::Sender<()>, tokio::task::JoinHandle<ApiResult<()>>) {
        let (release, hold) = mpsc::channel::<()>();
        let lane2 = lane.clone();
        let running = tokio::spawn(async move {
            lane2
                .run(move || {
                    let _ = hold.recv();
                })
                .await
        });
        while lane.inner.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        (release, running)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_lane_refuses_at_once_with_a_retry_time() {
        for lane in [Lane::new("test", 1, 2), Lane::background("test-bg", 1, 2)] {
            let (release, running) = hold_worker(&lane).await;
            let queued: Vec<_> = (0..2)
                .map(|_| {
                    let lane = lane.clone();
                    tokio::spawn(async move { lane.run(|| ()).await })
                })
                .collect();
            while lane.admitted() < 3 {
                tokio::task::yield_now().await;
            }
            let started = Instant::now();
            match lane.admit() {
                Err(ApiError::Busy { retry_after, .. }) => assert!(retry_after >= 1),
                Err(other) => panic!("expected busy, got {other:?}"),
                Ok(_) => panic!("expected busy, got a place"),
            }
            assert!(started.elapsed() < Duration::from_millis(50));
            release.send(()).unwrap();
            running.await.unwrap().unwrap();
            for q in queued {
                q.await.unwrap().unwrap();
            }
            assert_eq!(lane.admitted(), 0, "every place was given back");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_place_that_is_never_used_is_given_back() {
        let lane = Lane::new("test", 1, 0);
        let place = lane.admit().unwrap();
        assert!(lane.admit().is_err(), "capacity one");
        drop(place);
        assert_eq!(lane.admitted(), 0);
        assert_eq!(lane.run(|| 5).await.unwrap(), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lanes_do_not_wait_for_each_other() {
        let lanes = Lanes {
            bcrypt: Lane::background("bcrypt", 1, 8),
            captcha: Lane::new("captcha", 1, 8),
            rsa: Lane::new("rsa", 1, 8),
        };
        let (release, slow) = hold_worker(&lanes.bcrypt).await;
        let answer = tokio::time::timeout(Duration::from_secs(1), lanes.captcha.run(|| 7)).await;
        assert_eq!(answer.unwrap().unwrap(), 7);
        release.send(()).unwrap();
        slow.await.unwrap().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_workers_run_at_a_lower_priority() {
        let lane = Lane::background("nice", 1, 0);
        let nice = lane
            .run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) })
            .await
            .unwrap();
        assert_eq!(nice, 10);
    }
}
