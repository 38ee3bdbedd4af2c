"""What `scenarios.py` runs on Temporal's Python SDK: its activities, its workflows and the
task queue its worker polls. Kept apart from the scenarios so each file holds one concept."""

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

QUEUE = "python-sdk"

# -- activities ---------------------------------------------------------------------------

attempts: dict = {}


@activity.defn
async def send_email(user: str) -> str:
    return f"sent to {user}"


@activity.defn
async def flaky(key: str) -> str:
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] < 3:
        raise ApplicationError(f"attempt {attempts[key]} failed", type="Flaky")
    return f"ok after {attempts[key]} attempts"


@activity.defn
async def charge(order: str) -> str:
    raise ApplicationError("card declined", type="CardDeclined", non_retryable=True)


tokens: dict = {}


@activity.defn
async def wait_for_hand(key: str) -> str:
    tokens[key] = activity.info().task_token
    activity.raise_complete_async()


@activity.defn
async def stall(key: str) -> str:
    """Heartbeats once, then goes quiet past its heartbeat timeout."""
    activity.heartbeat("started")
    await asyncio.sleep(10)
    return "unreachable"


@activity.defn
async def resume(key: str) -> str:
    """Its first attempt is failed from outside with heartbeat details beside the failure;
    the next starts from them."""
    info = activity.info()
    if info.attempt == 1:
        activity.heartbeat("step-1")
        tokens["resume"] = info.task_token
        activity.raise_complete_async()
    return f"attempt {info.attempt} resumed from {list(info.heartbeat_details)}"


# -- workflows ----------------------------------------------------------------------------


@workflow.defn
class OrderWorkflow:
    """The Quick Start: one activity, one timer."""

    @workflow.run
    async def run(self, user: str) -> str:
        sent = await workflow.execute_activity(
            send_email, user, start_to_close_timeout=timedelta(seconds=10)
        )
        await asyncio.sleep(0.05)
        return f"workflow_completed_{sent}"


@workflow.defn
class ApprovalWorkflow:
    """Waits for `approve`; `status` says what it waits for; `note` keeps a note."""

    def __init__(self) -> None:
        self.approved_by = None
        self.note = ""

    @workflow.run
    async def run(self, order: str) -> str:
        await workflow.wait_condition(lambda: self.approved_by is not None)
        return f"{order} approved by {self.approved_by} ({self.note})"

    @workflow.signal
    def approve(self, by: str) -> None:
        self.approved_by = by

    @workflow.query
    def status(self) -> str:
        return f"waiting for approval ({self.note})"

    @workflow.query
    def broken(self) -> str:
        raise ValueError("this query always fails")

    @workflow.update
    def set_note(self, text: str) -> int:
        self.note = text
        return len(text)

    @set_note.validator
    def check_note(self, text: str) -> None:
        if not text:
            raise ValueError("a note must not be empty")


@workflow.defn
class RetryingWorkflow:
    """A flaky activity retried to success, then a declined charge that fails the run."""

    @workflow.run
    async def run(self, order: str) -> str:
        policy = RetryPolicy(initial_interval=timedelta(milliseconds=10), backoff_coefficient=1.0)
        flaky_result = await workflow.execute_activity(
            flaky, order, start_to_close_timeout=timedelta(seconds=10), retry_policy=policy
        )
        try:
            await workflow.execute_activity(
                charge, order, start_to_close_timeout=timedelta(seconds=10), retry_policy=policy
            )
        except ActivityError as error:
            raise ApplicationError(
                f"{flaky_result}; then {error.cause}", type="OrderFailed", non_retryable=True
            ) from error
        return "unreachable"


@workflow.defn
class ChildWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return n * 2


@workflow.defn
class ParentWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        first = await workflow.execute_child_workflow(ChildWorkflow.run, n, id=f"{workflow.info().workflow_id}-child-1")
        second = await workflow.execute_child_workflow(ChildWorkflow.run, first, id=f"{workflow.info().workflow_id}-child-2")
        return second


@workflow.defn
class WaitForeverWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: False)
        except asyncio.CancelledError:
            return "cleaned up after cancel"
        return "unreachable"


@workflow.defn
class AsyncWorkflow:
    """Two activities completed from outside their worker: by ids, and by task token."""

    @workflow.run
    async def run(self) -> str:
        timeout = timedelta(seconds=30)
        first = await workflow.execute_activity(
            wait_for_hand, "by-id", start_to_close_timeout=timeout, activity_id="by-id"
        )
        try:
            await workflow.execute_activity(
                wait_for_hand,
                "by-token",
                start_to_close_timeout=timeout,
                activity_id="by-token",
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            second = "unreachable"
        except ActivityError as error:
            second = str(error.cause)
        return f"{first}; {second}"


@workflow.defn
class CountdownWorkflow:
    """Continues as new until it reaches zero, a local activity on the way."""

    @workflow.run
    async def run(self, n: int) -> str:
        if n > 0:
            workflow.continue_as_new(n - 1)
        return await workflow.execute_local_activity(
            send_email, "local", start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class StallWorkflow:
    """An activity that stops heartbeating: its heartbeat timeout, typed; then one that
    fails after heartbeats and resumes from the last."""

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                stall,
                "quiet",
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=1),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            return "unreachable"
        except ActivityError as error:
            timeout = error.cause
            details = list(timeout.last_heartbeat_details)
            stalled = f"{type(timeout).__name__} {timeout.type.name} after {details}"
        resumed = await workflow.execute_activity(
            resume,
            "again",
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10)),
        )
        return f"{stalled}; {resumed}"


WORKFLOWS = [CountdownWorkflow, StallWorkflow, AsyncWorkflow, OrderWorkflow, ApprovalWorkflow, RetryingWorkflow, ChildWorkflow, ParentWorkflow, WaitForeverWorkflow]
ACTIVITIES = [send_email, flaky, charge, wait_for_hand, stall, resume]
