//! A deadline for every request head on a connection, not only the first.
//!
//! The HTTP server times the first request's head on a connection; once a connection has
//! carried one request, the head of the next may trickle in a byte at a time for as long as
//! the client likes (slow-loris on a kept-alive connection). This wraps the socket: when the
//! first byte of a request arrives, the head (up to its blank line) must follow within the
//! deadline, or reading fails and the connection is closed. The body has a deadline of its own
//! (`middleware::RequestContext`); while the server works on a request and answers, nothing is
//! timed here.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between requests: waiting is the keep-alive timer's business.
    Idle,
    /// A request head has begun and its blank line has not come yet.
    Head,
    /// The head is complete; the request is being read, worked on or answered.
    Rest,
}

pub struct HeadDeadline<T> {
    io: T,
    limit: Duration,
    phase: Phase,
    /// The last bytes of the head so far, to find `\r\n\r\n` across reads.
    window: u32,
    timer: Pin<Box<Sleep>>,
}

impl<T> HeadDeadline<T> {
    pub fn new(io: T, limit: Duration) -> Self {
        HeadDeadline {
            io,
            limit,
            phase: Phase::Idle,
            window: 0,
            timer: Box::pin(tokio::time::sleep(limit)),
        }
    }

    /// Follows the head through the bytes just read. A head that arrives whole in one read
    /// (nearly every one) never touches the timer: only a head still incomplete after its
    /// first read starts it.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || self.phase == Phase::Rest {
            return;
        }
        let starting = self.phase == Phase::Idle;
        if starting {
            self.window = 0;
        }
        if head_ends(self.window, bytes) {
            self.phase = Phase::Rest;
            return;
        }
        self.window = bytes
            .iter()
            .rev()
            .take(4)
            .rev()
            .fold(self.window, |w, &b| (w << 8) | u32::from(b));
        if starting {
            self.phase = Phase::Head;
            self.timer.as_mut().reset(Instant::now() + self.limit);
        }
    }
}

/// Whether `\r\n\r\n` is in `bytes`, or begins in the last bytes before them (`window`).
fn head_ends(window: u32, bytes: &[u8]) -> bool {
    const END: &[u8; 4] = b"\r\n\r\n";
    // A request without a body usually arrives whole in one read, so its head ends where the
    // read does: found without scanning a long `Authorization` header for the blank line.
    if bytes.ends_with(END) {
        return true;
    }
    // Across the seam: 1 to 3 earlier bytes, then the first new ones.
    let earlier = window.to_be_bytes();
    for k in 1..=3 {
        let need = 4 - k;
        if bytes.len() >= need && earlier[4 - k..] == END[..k] && bytes[..need] == END[k..] {
            return true;
        }
    }
    memchr::memmem::find(bytes, END).is_some()
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.phase == Phase::Head && this.timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head not received in time",
            )));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.saw(&buf.filled()[before..]);
            if this.phase == Phase::Head {
                // Registers the timer's wake-up for the wait that follows.
                let _ = this.timer.as_mut().poll(cx);
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            // An answer is going out: whatever arrives next starts another request.
            this.phase = Phase::Idle;
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    use super::*;

    #[test]
    fn the_end_of_a_head_is_found_within_a_read_and_across_reads() {
        let fold = |bytes: &[u8]| bytes.iter().fold(0u32, |w, &b| (w << 8) | u32::from(b));
        assert!(head_ends(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"));
        assert!(!head_ends(0, b"GET / HTTP/1.1\r\nHost: x\r\n"));
        for split in 1..4 {
            let end = b"\r\n\r\n";
            let before = fold(&[b"x: y".as_slice(), &end[..split]].concat());
            assert!(head_ends(before, &end[split..]), "split after {split}");
            assert!(!head_ends(before, b"zzzz"), "split after {split}");
        }
        assert!(!head_ends(fold(b"\r\n\r"), b"x\n"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_split_across_reads_at_its_blank_line_is_not_timed_out() {
        let (mut client, server) = duplex(1024);
        let mut guarded = HeadDeadline::new(server, Duration::from_secs(2));
        let mut buf = [0u8; 64];
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r")
            .await
            .unwrap();
        assert!(guarded.read(&mut buf).await.unwrap() > 0);
        client.write_all(b"\n").await.unwrap();
        assert_eq!(guarded.read(&mut buf).await.unwrap(), 1);
        let slow = tokio::time::timeout(Duration::from_secs(5), guarded.read(&mut buf)).await;
        assert!(slow.is_err(), "the head was complete: nothing to time");
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_that_does_not_end_in_time_fails_the_read() {
        let (mut client, server) = duplex(1024);
        let mut guarded = HeadDeadline::new(server, Duration::from_secs(2));
        let mut buf = [0u8; 64];
        client.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
        assert!(guarded.read(&mut buf).await.is_ok());
        let err = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_complete_head_is_not_timed_and_the_next_one_is() {
        let (mut client, server) = duplex(1024);
        let mut guarded = HeadDeadline::new(server, Duration::from_secs(2));
        let mut buf = [0u8; 64];
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r")
            .await
            .unwrap();
        assert!(guarded.read(&mut buf).await.unwrap() > 0);
        client.write_all(b"\n\r\n").await.unwrap();
        assert_eq!(guarded.read(&mut buf).await.unwrap(), 3);
        // The request is worked on for longer than the deadline: no error.
        let slow = tokio::time::timeout(Duration::from_secs(5), guarded.read(&mut buf)).await;
        assert!(slow.is_err(), "still waiting, not failed");
        guarded.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        // Idle between requests: not timed here either.
        let idle = tokio::time::timeout(Duration::from_secs(5), guarded.read(&mut buf)).await;
        assert!(idle.is_err());
        // The next head starts and stalls.
        client.write_all(b"GET /next").await.unwrap();
        assert_eq!(guarded.read(&mut buf).await.unwrap(), 9);
        let err = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
