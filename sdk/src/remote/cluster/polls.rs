//! Polls over every member: a worker's poll opens as many long polls on each member as the
//! worker has polls waiting for the same queue, and takes whichever task comes first. A
//! task that arrives while no poll waits is kept for the next one (for at most
//! [`ClusterOptions::held_task_max_age`](super::ClusterOptions::held_task_max_age)); the
//! members' polls are cancelled once no poll has waited for
//! [`ClusterOptions::idle_poll_close_after`](super::ClusterOptions::idle_poll_close_after).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use endure_core::protocol::{RemoteError, Request, Response};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Shared;

/// The polls that share their members' open polls: those of one worker (identity), for one
/// queue, kind of task and deployment version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PollKey(String);

impl PollKey {
    /// The key of `request`, if it is a poll.
    pub(super) fn of(request: &Request) -> Option<Self> {
        let key = match request {
            Request::PollWorkflowTask(poll) => format!(
                "workflow\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}\u{0}{:?}",
                poll.namespace,
                poll.task_queue,
                poll.identity,
                poll.deployment_version,
                poll.normal_queue
            ),
            Request::PollActivityTask(poll) => format!(
                "activity\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}",
                poll.namespace, poll.task_queue, poll.identity, poll.deployment_version
            ),
            _ => return None,
        };
        Some(Self(key))
    }
}

/// The tasks polled for one key, and which members have a poll open.
#[derive(Default)]
pub(super) struct PollQueue {
    state: Mutex<PollState>,
    arrived: Notify,
}

#[derive(Default)]
struct PollState {
    /// Tasks no poll has taken yet, with when each arrived.
    tasks: VecDeque<(Instant, Response)>,
    /// Polls open on each member.
    open: BTreeMap<String, usize>,
    /// The worker's polls waiting now: each member gets as many open polls, so a worker's
    /// pollers poll every member as they would poll one server.
    waiting: usize,
    /// When a poll last stopped waiting (`None`: one has not yet).
    last_waited: Option<Instant>,
}

impl PollState {
    /// Drops the tasks kept longer than `max_age`.
    fn expire(&mut self, max_age: std::time::Duration) {
        while let Some((arrived, _)) = self.tasks.front() {
            if arrived.elapsed() < max_age {
                break;
            }
            tracing::debug!(
                "a polled task no poll took was dropped; the engine times it out and retries it"
            );
            self.tasks.pop_front();
        }
    }

    fn idle(&self) -> bool {
        self.waiting == 0 && self.tasks.is_empty() && self.open.values().all(|open| *open == 0)
    }

    /// Whether no poll has waited for `after`.
    fn unwanted_for(&self, after: std::time::Duration) -> bool {
        self.waiting == 0 && self.last_waited.is_none_or(|last| last.elapsed() >= after)
    }
}

/// Counts a worker's poll as waiting while it lives.
struct Waiting {
    shared: Arc<Shared>,
    key: PollKey,
    queue: Arc<PollQueue>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        {
            let mut state = self.queue.state.lock();
            state.waiting = state.waiting.saturating_sub(1);
            state.last_waited = Some(Instant::now());
        }
        self.shared.forget_if_idle(&self.key, &self.queue);
    }
}

impl Shared {
    /// A long poll over every member: the first task from any, else empty when every
    /// member's poll came back empty.
    pub(super) async fn poll(
        self: Arc<Self>,
        key: PollKey,
        request: Request,
    ) -> Result<Response, RemoteError> {
        let queue = {
            let mut polls = self.polls.lock();
            let queue = Arc::clone(polls.entry(key.clone()).or_default());
            queue.state.lock().waiting += 1;
            queue
        };
        let _waiting = Waiting {
            shared: Arc::clone(&self),
            key: key.clone(),
            queue: Arc::clone(&queue),
        };
        let deadline = Instant::now() + self.options.poll_wait;
        loop {
            let arrived = queue.arrived.notified();
            let mut arrived = std::pin::pin!(arrived);
            // Registered before the state is read: a task arriving in between wakes it.
            arrived.as_mut().enable();
            let members = self.members.lock().clone();
            {
                let mut state = queue.state.lock();
                state.expire(self.options.held_task_max_age);
                if let Some((_, task)) = state.tasks.pop_front() {
                    return Ok(task);
                }
                let wanted = if *self.closing.borrow() {
                    0
                } else {
                    state.waiting
                };
                for member in &members {
                    let open = state.open.entry(member.clone()).or_default();
                    while *open < wanted {
                        *open += 1;
                        tokio::spawn(Arc::clone(&self).pump(
                            key.clone(),
                            Arc::clone(&queue),
                            member.clone(),
                            request.clone(),
                        ));
                    }
                }
                if state.open.values().all(|open| *open == 0) {
                    return Ok(empty(&request));
                }
            }
            tokio::select! {
                biased;
                () = arrived => {}
                () = tokio::time::sleep_until(deadline) => {
                    // The polls stay open; what they bring waits for the next poll.
                    let task = queue.state.lock().tasks.pop_front();
                    return Ok(task.map_or_else(|| empty(&request), |(_, task)| task));
                }
            }
        }
    }

    /// One long poll of `member`: a task is queued for the next poll; then the member may
    /// be polled again. The poll is cancelled (on the member too) once no poll of the
    /// worker has waited for `idle_poll_close_after`.
    async fn pump(
        self: Arc<Self>,
        key: PollKey,
        queue: Arc<PollQueue>,
        member: String,
        request: Request,
    ) {
        let link = self.link(&member);
        let idle = self.options.idle_poll_close_after;
        // Checked four times per `idle`: closed within 1.25 × `idle` of the last poll.
        let check_every = idle / 4;
        let mut closing = self.closing.subscribe();
        let result = {
            let call = link.call(request);
            let mut call = std::pin::pin!(call);
            loop {
                tokio::select! {
                    biased;
                    result = &mut call => break Some(result),
                    _ = closing.wait_for(|closed| *closed) => break None,
                    () = tokio::time::sleep(check_every) => {
                        if queue.state.lock().unwanted_for(idle) {
                            break None;
                        }
                    }
                }
            }
        };
        drop(link);
        let failed = match result {
            Some(Ok(response)) if !is_empty_poll(&response) => {
                self.remember_server(&response, &member);
                let held = {
                    let mut state = queue.state.lock();
                    state.tasks.push_back((Instant::now(), response));
                    state.waiting == 0
                };
                if held {
                    // Nobody may poll this key again: the task is dropped at its age.
                    let (shared, key, queue) = (Arc::clone(&self), key.clone(), Arc::clone(&queue));
                    tokio::spawn(async move {
                        tokio::time::sleep(shared.options.held_task_max_age).await;
                        queue.state.lock().expire(shared.options.held_task_max_age);
                        shared.forget_if_idle(&key, &queue);
                    });
                }
                false
            }
            Some(Ok(_)) | None => false,
            Some(Err(error)) => {
                tracing::debug!(%member, %error, "a member's poll failed");
                true
            }
        };
        if failed && !*closing.borrow() {
            tokio::time::sleep(self.options.poll_failure_pause).await;
        }
        {
            let mut state = queue.state.lock();
            if let Some(open) = state.open.get_mut(&member) {
                *open = open.saturating_sub(1);
            }
        }
        queue.arrived.notify_waiters();
        self.forget_if_idle(&key, &queue);
    }

    /// Removes the queue of `key` if nothing waits, is open or is kept in it.
    fn forget_if_idle(&self, key: &PollKey, queue: &Arc<PollQueue>) {
        let mut polls = self.polls.lock();
        let Some(current) = polls.get(key) else {
            return;
        };
        if Arc::ptr_eq(current, queue) && queue.state.lock().idle() {
            polls.remove(key);
        }
    }

    /// How many queues have polls waiting, open or tasks kept (for tests).
    #[cfg(test)]
    pub(super) fn poll_queues(&self) -> usize {
        self.polls.lock().len()
    }
}

fn is_empty_poll(response: &Response) -> bool {
    matches!(
        response,
        Response::PollWorkflowTask(None) | Response::PollActivityTask(None)
    )
}

fn empty(request: &Request) -> Response {
    match request {
        Request::PollWorkflowTask(_) => Response::PollWorkflowTask(None),
        _ => Response::PollActivityTask(None),
    }
}
