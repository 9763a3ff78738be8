//! CPU-heavy work off the async workers, in lanes: bcrypt, captcha drawing and RSA decryption
//! each have their own bounded lane, so a storm of one kind (300 concurrent sign-ins at cost
//! 12) queues behind its own kind only and the sign-in page's captcha is drawn at once.
//!
//! A lane runs at most one job per core at once; a job keeps its permit until it really ends
//! (a cancelled request cannot free a core its job still uses). Past `max_waiting` queued jobs
//! a lane refuses at once with 503 `unavailable` and a `Retry-After` estimated from how long
//! its jobs take, instead of letting callers wait for minutes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

#[derive(Clone)]
pub struct Lane {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    workers: usize,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Moving average of a job's duration, in microseconds (for `Retry-After`).
    average_us: AtomicU64,
}

/// Gives back a place in the queue however the wait ends.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Lane {
    pub fn new(name: &'static str, workers: usize, max_waiting: usize) -> Self {
        let workers = workers.max(1);
        Lane {
            inner: Arc::new(Inner {
                name,
                workers,
                permits: Arc::new(Semaphore::new(workers)),
                waiting: AtomicUsize::new(0),
                max_waiting,
                average_us: AtomicU64::new(0),
            }),
        }
    }

    /// Jobs queued for a worker right now.
    pub fn waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::Acquire)
    }

    fn busy(&self, queued: usize) -> ApiError {
        let average = Duration::from_micros(self.inner.average_us.load(Ordering::Relaxed));
        let drain = average.mul_f64((queued + 1) as f64 / self.inner.workers as f64);
        ApiError::Busy {
            what: self.inner.name,
            retry_after: drain.as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let inner = &self.inner;
        let permit = match inner.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let queued = inner.waiting.fetch_add(1, Ordering::AcqRel);
                let _place = Queued(&inner.waiting);
                if queued >= inner.max_waiting {
                    return Err(self.busy(queued));
                }
                inner
                    .permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| ApiError::Unavailable(format!("{} lane closed", inner.name)))?
            }
        };
        let lane = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let started = Instant::now();
            let out = f();
            lane.record(started.elapsed());
            out
        })
        .await
        .map_err(|e| ApiError::Internal(format!("{} job failed: {e}", self.inner.name)))
    }

    fn record(&self, took: Duration) {
        let us = took.as_micros().min(u128::from(u64::MAX)) as u64;
        let avg = &self.inner.average_us;
        let old = avg.load(Ordering::Relaxed);
        let new = if old == 0 { us } else { (old * 7 + us) / 8 };
        avg.store(new, Ordering::Relaxed);
    }
}

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
            bcrypt: Lane::new("bcrypt", cores, bcrypt_queue),
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_refused_at_once_with_a_retry_time() {
        let lane = Lane::new("test", 1, 2);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        let running = {
            let (lane, hold) = (lane.clone(), hold.clone());
            tokio::spawn(async move {
                lane.run(move || {
                    let _ = hold.lock().unwrap().recv();
                })
                .await
            })
        };
        while lane.inner.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let lane = lane.clone();
                tokio::spawn(async move { lane.run(|| ()).await })
            })
            .collect();
        while lane.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        let started = Instant::now();
        match lane.run(|| ()).await {
            Err(ApiError::Busy { retry_after, .. }) => assert!(retry_after >= 1),
            other => panic!("expected busy, got {:?}", other.map(|_| ())),
        }
        assert!(started.elapsed() < Duration::from_millis(100));
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        for q in queued {
            q.await.unwrap().unwrap();
        }
        assert_eq!(lane.waiting(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lanes_do_not_wait_for_each_other() {
        let lanes = Lanes {
            bcrypt: Lane::new("bcrypt", 1, 8),
            captcha: Lane::new("captcha", 1, 8),
            rsa: Lane::new("rsa", 1, 8),
        };
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let slow = {
            let bcrypt = lanes.bcrypt.clone();
            tokio::spawn(async move {
                bcrypt
                    .run(move || {
                        let _ = hold.recv();
                    })
                    .await
            })
        };
        while lanes.bcrypt.inner.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let answer = tokio::time::timeout(Duration::from_secs(1), lanes.captcha.run(|| 7)).await;
        assert_eq!(answer.unwrap().unwrap(), 7);
        release.send(()).unwrap();
        slow.await.unwrap().unwrap();
    }
}
