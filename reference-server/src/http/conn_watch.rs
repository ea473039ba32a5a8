//! What watches an open connection besides hyper: the deadline of the request head being
//! read (hyper's `header_read_timeout`, on this module's [`HeadTimer`]) and the server's
//! shutdown (hyper's graceful close). One sweep a second serves every connection.
//!
//! Why not tokio's timer and `hyper_util`'s graceful watcher (issue 20 item 8): hyper drops
//! its header timer when a head is read and makes a new one for the next, so tokio armed
//! and cleared a timer entry for every request, and the watcher polled a watch channel at
//! every turn of the connection: together about a tenth of the server's instructions for a
//! small request. Here a head's timer is a deadline written to the connection's slot, and
//! a turn of the connection registers its waker and reads one flag.
//!
//! The deadline's resolution is [`TICK`]: a head that has not arrived is cut off between
//! the timeout and the timeout plus two ticks, never earlier.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use hyper::rt::{Sleep, Timer};

/// How often [`Watches::sweep`] runs.
pub const TICK: Duration = Duration::from_secs(1);

const NO_DEADLINE: u64 = u64::MAX;

/// Every open connection's slot, the coarse clock the deadlines are read on, and whether
/// the server is shutting down.
pub struct Watches {
    /// On tokio's clock, so a test with paused time moves it.
    start: tokio::time::Instant,
    /// Milliseconds from `start`, as of the last sweep.
    now_ms: AtomicU64,
    shutting_down: AtomicBool,
    /// Bounded by the connection cap: a slot goes at the first sweep after its connection.
    slots: Mutex<Vec<Weak<Slot>>>,
}

/// One connection's: its task's waker and the deadline of the head being read.
struct Slot {
    waker: AtomicWaker,
    /// Milliseconds from [`Watches::start`]; [`NO_DEADLINE`] while no head is awaited.
    head_deadline: AtomicU64,
}

impl Default for Watches {
    fn default() -> Self {
        Watches {
            start: tokio::time::Instant::now(),
            now_ms: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            slots: Mutex::new(Vec::new()),
        }
    }
}

impl Watches {
    /// Moves the coarse clock and wakes every connection whose head is overdue. Run every
    /// [`TICK`].
    pub fn sweep(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.now_ms.store(now, Ordering::Release);
        self.wake(|slot| slot.head_deadline.load(Ordering::Acquire) <= now);
    }

    /// Asks every connection to close once its request in flight, if any, is answered.
    pub fn shut_down(&self) {
        self.shutting_down.store(true, Ordering::Release);
        self.wake(|_| true);
    }

    /// Wakes the live connections `due` picks; forgets the slots of closed ones.
    fn wake(&self, due: impl Fn(&Slot) -> bool) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.retain(|weak| match weak.upgrade() {
            Some(slot) => {
                if due(&slot) {
                    slot.waker.wake();
                }
                true
            }
            None => false,
        });
    }

    /// A new connection's timer for hyper's header-read timeout, and the watch that closes
    /// the connection gracefully at shutdown (see [`Watches::watch`]).
    pub fn register(self: &Arc<Self>) -> HeadTimer {
        let slot = Arc::new(Slot {
            waker: AtomicWaker::new(),
            head_deadline: AtomicU64::new(NO_DEADLINE),
        });
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&slot));
        HeadTimer {
            watches: self.clone(),
            slot,
        }
    }

    /// Serves `conn`, closing it gracefully when the server shuts down; `timer` is the
    /// one its builder was given.
    pub fn watch<C: Graceful>(&self, timer: &HeadTimer, conn: C) -> Watched<C> {
        Watched {
            conn: Box::pin(conn),
            slot: timer.slot.clone(),
            watches: timer.watches.clone(),
            closing: false,
        }
    }

    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Acquire)
    }
}

/// A connection that can be asked to close after its request in flight.
pub trait Graceful: Future {
    fn close_gracefully(self: Pin<&mut Self>);
}

impl<I, S, B> Graceful for hyper::server::conn::http1::Connection<I, S>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn close_gracefully(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// A connection under watch: woken by the sweep when its head is overdue (hyper's timer
/// then answers) or when the server shuts down.
pub struct Watched<C> {
    conn: Pin<Box<C>>,
    slot: Arc<Slot>,
    watches: Arc<Watches>,
    closing: bool,
}

impl<C: Graceful> Future for Watched<C> {
    type Output = C::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        // Registered before the flag is read: a shutdown after the read wakes this waker.
        self.slot.waker.register(cx.waker());
        if !self.closing && self.watches.shutting_down.load(Ordering::Acquire) {
            self.closing = true;
            self.conn.as_mut().close_gracefully();
        }
        self.conn.as_mut().poll(cx)
    }
}

/// hyper's timer for one connection: a deadline on the sweep's clock, written to the
/// connection's slot while hyper waits for a head.
#[derive(Clone)]
pub struct HeadTimer {
    watches: Arc<Watches>,
    slot: Arc<Slot>,
}

impl Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn Sleep>> {
        let start = self.watches.start.into_std();
        // One tick more, since the clock read at the start may be a tick behind: never early.
        let ms =
            deadline.saturating_duration_since(start).as_millis() as u64 + TICK.as_millis() as u64;
        Box::pin(HeadDeadline {
            watches: self.watches.clone(),
            slot: self.slot.clone(),
            at_ms: ms,
        })
    }

    /// The sweep's clock, read without a system call.
    fn now(&self) -> std::time::Instant {
        self.watches.start.into_std() + Duration::from_millis(self.watches.now_ms())
    }
}

/// A head's deadline: ready once the sweep's clock reaches it.
struct HeadDeadline {
    watches: Arc<Watches>,
    slot: Arc<Slot>,
    at_ms: u64,
}

impl Future for HeadDeadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.watches.now_ms() >= self.at_ms {
            return Poll::Ready(());
        }
        // hyper polls this inside the connection's task, whose waker the slot holds.
        self.slot.head_deadline.store(self.at_ms, Ordering::Release);
        Poll::Pending
    }
}

impl Sleep for HeadDeadline {}

impl Drop for HeadDeadline {
    fn drop(&mut self) {
        self.slot
            .head_deadline
            .store(NO_DEADLINE, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use crate::config::ServerConfig;

    /// What the server sends on `stream` until it closes it, within `limit` of tokio time.
    async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
        let mut answer = Vec::new();
        tokio::time::timeout(limit, stream.read_to_end(&mut answer))
            .await
            .ok()
            .map(|_| answer)
    }

    /// A head that never ends is cut off after the header-read timeout (30 s), within the
    /// sweep's resolution, and not before; a head sent whole meanwhile is answered. Paused
    /// time: nothing sleeps.
    #[tokio::test(start_paused = true)]
    async fn an_unfinished_head_is_cut_off_after_the_timeout_and_not_before() {
        let server = crate::spawn(ServerConfig::enterprise()).await.unwrap();
        let mut slow = TcpStream::connect(server.addr()).await.unwrap();
        slow.write_all(b"GET /oauth/introspect HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let started = tokio::time::Instant::now();
        let mut prompt = TcpStream::connect(server.addr()).await.unwrap();
        prompt
            .write_all(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut prompt, Duration::from_secs(5))
            .await
            .expect("a whole head is answered at once");
        assert!(answer.starts_with(b"HTTP/1.1 "), "{answer:?}");
        read_until_closed(&mut slow, Duration::from_secs(40))
            .await
            .expect("the unfinished head is cut off");
        let waited = started.elapsed();
        assert!(
            (Duration::from_secs(30)..=Duration::from_secs(33)).contains(&waited),
            "cut off after {waited:?}"
        );
        server.stop().await;
    }

    /// Shutdown closes an idle keep-alive connection at once, and the server's task ends.
    #[tokio::test]
    async fn shutdown_closes_an_idle_connection() {
        let server = crate::spawn(ServerConfig::enterprise()).await.unwrap();
        let mut idle = TcpStream::connect(server.addr()).await.unwrap();
        idle.write_all(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut first = [0u8; 12];
        idle.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 404");
        let started = std::time::Instant::now();
        server.stop().await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "stop took {:?}",
            started.elapsed()
        );
        assert!(
            read_until_closed(&mut idle, Duration::from_secs(2))
                .await
                .is_some(),
            "the idle connection is closed"
        );
    }
}
