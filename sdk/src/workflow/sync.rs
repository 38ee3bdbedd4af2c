//! Deterministic synchronisation for workflow coroutines (spec §5.16, §6.5–§6.7, §6.11):
//! channels (buffered and unbuffered, with non-blocking `try_recv`), a selector that picks
//! the first ready case in registration order, a wait group and settable futures.
//!
//! They are plain shared cells with wakers: the executor runs one coroutine at a time, so
//! every wake lands in its FIFO run queue in program order and replay sees the same order.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::{Poll, Waker};

use parking_lot::Mutex;

use super::executor::BoxFuture;

fn wake_all(waiters: &mut Vec<Waker>) {
    for waker in std::mem::take(waiters) {
        waker.wake();
    }
}

fn remember(waiters: &mut Vec<Waker>, waker: &Waker) {
    if !waiters.iter().any(|known| known.will_wake(waker)) {
        waiters.push(waker.clone());
    }
}

struct ChannelState<T> {
    buffer: VecDeque<T>,
    /// Values a sender may leave before it waits; 0 is a rendezvous.
    capacity: usize,
    closed: bool,
    sent: u64,
    taken: u64,
    receivers: Vec<Waker>,
    senders: Vec<Waker>,
}

/// Creates a workflow channel holding up to `capacity` values; 0 makes it unbuffered (a send
/// completes when a receiver takes the value).
pub fn channel<T: Send + 'static>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let state = Arc::new(Mutex::new(ChannelState {
        buffer: VecDeque::new(),
        capacity,
        closed: false,
        sent: 0,
        taken: 0,
        receivers: Vec::new(),
        senders: Vec::new(),
    }));
    (
        Sender {
            state: Arc::clone(&state),
        },
        Receiver { state },
    )
}

/// The sending half of a workflow channel.
pub struct Sender<T> {
    state: Arc<Mutex<ChannelState<T>>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
        }
    }
}

impl<T: Send + 'static> Sender<T> {
    /// Sends `value`, waiting while the buffer is full (or, unbuffered, until it is taken).
    pub fn send(&self, value: T) -> impl Future<Output = ()> + Send + 'static + use<T> {
        let state = Arc::clone(&self.state);
        let mut value = Some(value);
        let mut ticket: Option<u64> = None;
        std::future::poll_fn(move |cx| {
            let mut channel = state.lock();
            if let Some(ticket) = ticket {
                // Unbuffered: done once a receiver took this value.
                if channel.taken > ticket || channel.closed {
                    return Poll::Ready(());
                }
                remember(&mut channel.senders, cx.waker());
                return Poll::Pending;
            }
            if channel.buffer.len() >= channel.capacity.max(1) {
                remember(&mut channel.senders, cx.waker());
                return Poll::Pending;
            }
            if let Some(value) = value.take() {
                channel.buffer.push_back(value);
            }
            let this_ticket = channel.sent;
            channel.sent += 1;
            wake_all(&mut channel.receivers);
            if channel.capacity == 0 {
                ticket = Some(this_ticket);
                remember(&mut channel.senders, cx.waker());
                return Poll::Pending;
            }
            Poll::Ready(())
        })
    }

    /// Closes the channel: receivers get the values left, then `None`.
    pub fn close(&self) {
        let mut channel = self.state.lock();
        channel.closed = true;
        wake_all(&mut channel.receivers);
        wake_all(&mut channel.senders);
    }
}

/// The receiving half of a workflow channel.
pub struct Receiver<T> {
    state: Arc<Mutex<ChannelState<T>>>,
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
        }
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// The next value if one is waiting (does not block).
    pub fn try_recv(&self) -> Option<T> {
        let mut channel = self.state.lock();
        let value = channel.buffer.pop_front()?;
        channel.taken += 1;
        wake_all(&mut channel.senders);
        Some(value)
    }

    /// Waits for the next value; `None` once the channel is closed and empty.
    pub fn recv(&self) -> impl Future<Output = Option<T>> + Send + 'static + use<T> {
        let state = Arc::clone(&self.state);
        std::future::poll_fn(move |cx| {
            let mut channel = state.lock();
            if let Some(value) = channel.buffer.pop_front() {
                channel.taken += 1;
                wake_all(&mut channel.senders);
                return Poll::Ready(Some(value));
            }
            if channel.closed {
                return Poll::Ready(None);
            }
            remember(&mut channel.receivers, cx.waker());
            Poll::Pending
        })
    }
}

/// What a case's future gives once it is ready: the select's value, or — for an async
/// handler — the handler's future, which the select then runs alone to its end.
enum Step<T> {
    Value(T),
    Then(BoxFuture<T>),
}

/// A case of a [`Selector`].
enum Case<T> {
    /// Matched once, then gone.
    Once(BoxFuture<Step<T>>),
    /// Re-armed after each match (a channel receive).
    Repeat(
        Box<dyn FnMut() -> BoxFuture<Step<T>> + Send>,
        BoxFuture<Step<T>>,
    ),
}

/// Waits for the first of several futures to be ready (Go's `workflow.Selector`): cases are
/// checked in the order they were added, so ties resolve the same way on replay. A future
/// case is matched once; a receive case once per value.
pub struct Selector<T> {
    cases: Vec<Option<Case<T>>>,
    /// The async handler of the case a select committed to, run to its end before the
    /// select returns (kept here if the select is dropped and called again meanwhile).
    committed: Option<BoxFuture<T>>,
}

impl<T: Send + 'static> Default for Selector<T> {
    fn default() -> Self {
        Self {
            cases: Vec::new(),
            committed: None,
        }
    }
}

impl<T: Send + 'static> Selector<T> {
    /// An empty selector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a future; when it is ready, `handler` turns its output into the select's value.
    pub fn add_future<F>(
        &mut self,
        future: F,
        handler: impl FnOnce(F::Output) -> T + Send + 'static,
    ) -> &mut Self
    where
        F: Future + Send + 'static,
    {
        self.cases.push(Some(Case::Once(Box::pin(async move {
            Step::Value(handler(future.await))
        }))));
        self
    }

    /// Adds a future whose handler is itself async (Go's `AddFuture` with a callback that
    /// blocks — runs an activity, sleeps): once the future is ready the select commits to
    /// this case and runs the handler to its end, whatever the other cases do meanwhile.
    pub fn add_future_async<F, H, Fut>(&mut self, future: F, handler: H) -> &mut Self
    where
        F: Future + Send + 'static,
        H: FnOnce(F::Output) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        self.cases.push(Some(Case::Once(Box::pin(async move {
            let output = future.await;
            Step::Then(Box::pin(handler(output)) as BoxFuture<T>)
        }))));
        self
    }

    /// Adds a receive on `receiver`; each value (or `None` once closed) goes through `handler`.
    pub fn add_receive<V: Send + 'static>(
        &mut self,
        receiver: &Receiver<V>,
        handler: impl Fn(Option<V>) -> T + Send + Sync + 'static,
    ) -> &mut Self {
        let receiver = receiver.clone();
        let handler = Arc::new(handler);
        let make = move || -> BoxFuture<Step<T>> {
            let next = receiver.recv();
            let handler = Arc::clone(&handler);
            Box::pin(async move { Step::Value(handler(next.await)) })
        };
        let first = make();
        self.cases.push(Some(Case::Repeat(Box::new(make), first)));
        self
    }

    /// Whether any case is left.
    pub fn has_pending(&self) -> bool {
        self.committed.is_some() || self.cases.iter().any(Option::is_some)
    }

    /// Waits for the first ready case, in the order cases were added. `None` if none is left.
    pub fn select(&mut self) -> impl Future<Output = Option<T>> + Send + '_ {
        std::future::poll_fn(move |cx| {
            if let Some(handler) = &mut self.committed {
                return match handler.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        self.committed = None;
                        Poll::Ready(Some(value))
                    }
                    Poll::Pending => Poll::Pending,
                };
            }
            if !self.has_pending() {
                return Poll::Ready(None);
            }
            for index in 0..self.cases.len() {
                let Some(case) = &mut self.cases[index] else {
                    continue;
                };
                let future = match case {
                    Case::Once(future) | Case::Repeat(_, future) => future,
                };
                let Poll::Ready(step) = future.as_mut().poll(cx) else {
                    continue;
                };
                match case {
                    Case::Once(_) => self.cases[index] = None,
                    Case::Repeat(make, future) => *future = make(),
                }
                match step {
                    Step::Value(value) => return Poll::Ready(Some(value)),
                    Step::Then(mut handler) => {
                        if let Poll::Ready(value) = handler.as_mut().poll(cx) {
                            return Poll::Ready(Some(value));
                        }
                        self.committed = Some(handler);
                        return Poll::Pending;
                    }
                }
            }
            Poll::Pending
        })
    }
}

/// Waits for a number of coroutines to finish (Go's `workflow.WaitGroup`).
#[derive(Clone, Default)]
pub struct WaitGroup {
    state: Arc<Mutex<(i64, Vec<Waker>)>>,
}

impl WaitGroup {
    /// A group with nothing to wait for.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `count` to what must finish.
    pub fn add(&self, count: i64) {
        let mut state = self.state.lock();
        state.0 += count;
        if state.0 <= 0 {
            wake_all(&mut state.1);
        }
    }

    /// One finished.
    pub fn done(&self) {
        self.add(-1);
    }

    /// Waits until everything added has finished.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let state = Arc::clone(&self.state);
        std::future::poll_fn(move |cx| {
            let mut state = state.lock();
            if state.0 <= 0 {
                return Poll::Ready(());
            }
            remember(&mut state.1, cx.waker());
            Poll::Pending
        })
    }
}

/// A future set by workflow code (Go's `workflow.NewFuture`).
pub struct SettableFuture<T> {
    state: Arc<Mutex<(Option<T>, Vec<Waker>)>>,
}

/// Sets a [`SettableFuture`], once.
pub struct Setter<T> {
    state: Arc<Mutex<(Option<T>, Vec<Waker>)>>,
}

/// A future and the handle that sets it.
pub fn settable_future<T: Send + 'static>() -> (SettableFuture<T>, Setter<T>) {
    let state = Arc::new(Mutex::new((None, Vec::new())));
    (
        SettableFuture {
            state: Arc::clone(&state),
        },
        Setter { state },
    )
}

impl<T> Setter<T> {
    /// Sets the value and wakes the waiter; a second set is ignored (returns false).
    pub fn set(&self, value: T) -> bool {
        let mut state = self.state.lock();
        if state.0.is_some() {
            return false;
        }
        state.0 = Some(value);
        wake_all(&mut state.1);
        true
    }
}

impl<T> Future for SettableFuture<T> {
    type Output = T;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<T> {
        let mut state = self.state.lock();
        match state.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                remember(&mut state.1, cx.waker());
                Poll::Pending
            }
        }
    }
}
