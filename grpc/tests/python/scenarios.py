"""Temporal's Python SDK against Endure's gRPC front end: one scenario per run.

Run as `python scenarios.py <scenario> <host:port>`; prints one JSON object (what the
client saw) on its last line and exits 0, or exits non-zero with the SDK's error. The
scenario `serve` runs only the worker, until its standard input closes (`serve-versioned`:
a worker of deployment `orders` build 1.0). The Rust
test (`grpc/tests/it`) runs each scenario against a real engine and then asserts the
histories Endure wrote, event by event.
"""

import asyncio
import json
import os
import sys
from datetime import timedelta

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError
from temporalio.worker import Worker

from definitions import (
    ACTIVITIES,
    QUEUE,
    WORKFLOWS,
    ApprovalWorkflow,
    AsyncWorkflow,
    CountdownWorkflow,
    OrderWorkflow,
    ParentWorkflow,
    RetryingWorkflow,
    StallWorkflow,
    WaitForeverWorkflow,
    tokens,
)
from versioning import serve_versioned, versioning


# -- scenarios ----------------------------------------------------------------------------


async def quickstart(client: Client) -> dict:
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

    result = await client.execute_workflow(OrderWorkflow.run, "user_123", id="py-order", task_queue=QUEUE)
    # The history in pages of at most five events, as a caller may ask.
    pages, token = [], b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default",
                execution=WorkflowExecution(workflow_id="py-order"),
                maximum_page_size=5,
                next_page_token=token,
            )
        )
        pages.append([event.event_id for event in page.history.events])
        token = page.next_page_token
        if not token:
            break
    return {"result": result, "pages": pages}


async def approval(client: Client) -> dict:
    handle = await client.start_workflow(ApprovalWorkflow.run, "order-7", id="py-approval", task_queue=QUEUE)
    # An update waits for the run's first workflow task; a query before it is refused
    # (the run has no state to answer from yet), as Temporal's server refuses it.
    length = await handle.execute_update(ApprovalWorkflow.set_note, "rush")
    try:
        await handle.execute_update(ApprovalWorkflow.set_note, "")
        rejected = None
    except WorkflowUpdateFailedError as error:
        rejected = str(error.cause)
    try:
        await handle.query(ApprovalWorkflow.broken)
        query_failed = None
    except WorkflowQueryFailedError as error:
        query_failed = str(error)
    status_after = await handle.query(ApprovalWorkflow.status)
    await handle.signal(ApprovalWorkflow.approve, "alice")
    result = await handle.result()
    # Signal-with-start: a second run started by its signal.
    again = await client.start_workflow(
        ApprovalWorkflow.run,
        "order-8",
        id="py-approval-2",
        task_queue=QUEUE,
        start_signal="approve",
        start_signal_args=["bob"],
    )
    return {
        "update": length,
        "rejected": rejected,
        "query_failed": query_failed,
        "status_after": status_after,
        "result": result,
        "signal_with_start": await again.result(),
    }


async def failures(client: Client) -> dict:
    try:
        await client.execute_workflow(RetryingWorkflow.run, "order-9", id="py-retrying", task_queue=QUEUE)
        return {"error": None}
    except WorkflowFailureError as error:
        cause = error.cause
        return {
            "error": type(cause).__name__,
            "type": getattr(cause, "type", None),
            "message": cause.message if isinstance(cause, ApplicationError) else str(cause),
            "non_retryable": getattr(cause, "non_retryable", None),
        }


async def children(client: Client) -> dict:
    result = await client.execute_workflow(ParentWorkflow.run, 5, id="py-parent", task_queue=QUEUE)
    return {"result": result}


async def lifecycle(client: Client) -> dict:
    from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

    team = SearchAttributeKey.for_keyword("Team")
    priority = SearchAttributeKey.for_int("Priority")
    first = await client.start_workflow(
        WaitForeverWorkflow.run,
        id="py-forever",
        task_queue=QUEUE,
        memo={"owner": "ann"},
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(team, "billing"), SearchAttributePair(priority, 3)]
        ),
    )
    try:
        await client.start_workflow(WaitForeverWorkflow.run, id="py-forever", task_queue=QUEUE)
        already = None
    except WorkflowAlreadyStartedError as error:
        already = error.run_id == first.result_run_id or error.run_id is None
    description = await first.describe()
    memo = await description.memo()
    attributes = {
        "Team": description.typed_search_attributes.get(team),
        "Priority": description.typed_search_attributes.get(priority),
    }
    by_attribute = [w.id async for w in client.list_workflows("Team = 'billing' AND Priority > 2")]
    await first.cancel()
    cancelled = await first.result()
    doomed = await client.start_workflow(WaitForeverWorkflow.run, id="py-doomed", task_queue=QUEUE)
    await doomed.terminate(reason="no longer needed")
    try:
        await doomed.result()
        terminated = None
    except WorkflowFailureError as error:
        terminated = type(error.cause).__name__
    # A closed run: Temporal's server answers NOT_FOUND ("workflow execution already
    # completed") to a signal, a cancel request or a termination.
    after_close = {}
    for name, act in [
        ("signal", lambda: doomed.signal("late")),
        ("cancel", lambda: doomed.cancel()),
        ("terminate", lambda: doomed.terminate(reason="twice")),
    ]:
        try:
            await act()
            after_close[name] = None
        except RPCError as error:
            after_close[name] = error.status.name
    from temporalio.api.workflowservice.v1 import ListBatchOperationsRequest

    try:
        await client.workflow_service.list_batch_operations(
            ListBatchOperationsRequest(namespace="default")
        )
        unimplemented = None
    except RPCError as error:
        unimplemented = {"status": error.status.name, "message": error.message}
    from temporalio.api.workflowservice.v1 import RespondActivityTaskCompletedRequest

    try:
        await client.workflow_service.respond_activity_task_completed(
            RespondActivityTaskCompletedRequest(namespace="default", task_token=b"not a token")
        )
        bad_token = None
    except RPCError as error:
        bad_token = error.status.name
    return {
        "bad_token": bad_token,
        "already_started": already,
        "described_status": description.status.name if description.status else None,
        "described_type": description.workflow_type,
        "memo": memo,
        "attributes": attributes,
        "by_attribute": by_attribute,
        "cancelled": cancelled,
        "terminated": terminated,
        "after_close": after_close,
        "unimplemented": unimplemented,
    }


async def visibility(client: Client) -> dict:
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import (
        DeleteWorkflowExecutionRequest,
        ResetWorkflowExecutionRequest,
    )

    for n in range(3):
        await client.execute_workflow(OrderWorkflow.run, f"user_{n}", id=f"py-list-{n}", task_queue=QUEUE)
    listed = sorted(
        [w.id async for w in client.list_workflows("WorkflowType = 'OrderWorkflow'")]
    )
    paged = [w.id async for w in client.list_workflows("", page_size=2)]
    counted = (await client.count_workflows("ExecutionStatus = 'Completed'")).count
    waiting = await client.start_workflow(
        ApprovalWorkflow.run, "o-9", id="py-list-terminated", task_queue=QUEUE
    )
    await waiting.terminate("counted apart")
    grouped = await client.count_workflows("GROUP BY ExecutionStatus")
    groups = [[list(group.group_values), group.count] for group in grouped.groups]
    try:
        await client.count_workflows("GROUP BY WorkflowType")
        bad_group = None
    except RPCError as error:
        bad_group = error.status.name
    try:
        [w async for w in client.list_workflows("WorkflowType = ")]
        bad_filter = None
    except RPCError as error:
        bad_filter = error.status.name
    reset = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace="default",
            workflow_execution=WorkflowExecution(workflow_id="py-list-0"),
            reason="replay it",
            workflow_task_finish_event_id=4,
            request_id="reset-py-list-0",
        )
    )
    again = await client.get_workflow_handle("py-list-0", run_id=reset.run_id).result()
    await client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace="default", workflow_execution=WorkflowExecution(workflow_id="py-list-2")
        )
    )
    try:
        await client.get_workflow_handle("py-list-2").describe()
        deleted = None
    except RPCError as error:
        deleted = error.status.name
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
        RemoveSearchAttributesRequest,
    )

    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={"Region": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )
    listing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    region = IndexedValueType.Name(listing.custom_attributes["Region"])
    system_has_workflow_type = "WorkflowType" in listing.system_attributes
    await client.operator_service.remove_search_attributes(
        RemoveSearchAttributesRequest(namespace="default", search_attributes=["Region"])
    )
    after = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    return {
        "region": region,
        "system_has_workflow_type": system_has_workflow_type,
        "region_removed": "Region" not in after.custom_attributes,
        "listed": listed,
        "paged": len(paged),
        "counted": counted,
        "grouped": [grouped.count, groups],
        "bad_group": bad_group,
        "bad_filter": bad_filter,
        "reset_result": again,
        "reset_run": reset.run_id,
        "deleted": deleted,
    }


async def update_with_start(client: Client) -> dict:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    def start_of(policy):
        return WithStartWorkflowOperation(
            ApprovalWorkflow.run, "order-10", id="py-uws", id_conflict_policy=policy, task_queue=QUEUE
        )

    first = start_of(WorkflowIDConflictPolicy.USE_EXISTING)
    started_with = await client.execute_update_with_start_workflow(
        ApprovalWorkflow.set_note, "first", start_workflow_operation=first
    )
    handle = await first.workflow_handle()
    again = start_of(WorkflowIDConflictPolicy.USE_EXISTING)
    existing = await client.execute_update_with_start_workflow(
        ApprovalWorkflow.set_note, "second!", start_workflow_operation=again
    )
    same_run = (await again.workflow_handle()).result_run_id == handle.result_run_id
    refused = start_of(WorkflowIDConflictPolicy.FAIL)
    try:
        await client.execute_update_with_start_workflow(
            ApprovalWorkflow.set_note, "third", start_workflow_operation=refused
        )
        taken = None
    except WorkflowAlreadyStartedError:
        taken = "WorkflowAlreadyStartedError"
    except Exception as error:  # what else the SDK made of it, for the assertion
        taken = f"{type(error).__name__}: {error}"
    await handle.signal(ApprovalWorkflow.approve, "carol")
    result = await handle.result()
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name=QUEUE),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return {
        "started_with": started_with,
        "existing": existing,
        "same_run": same_run,
        "taken": taken,
        "result": result,
        "pollers": len(described.pollers) > 0,
    }


async def secure(client: Client, address: str, ca: str, key: str, reader_key: str) -> dict:
    """Over TLS with API keys: the client given was connected with `key` (full rights)."""
    from temporalio.service import TLSConfig

    result = await client.execute_workflow(OrderWorkflow.run, "user_tls", id="py-tls", task_queue=QUEUE)
    tls = TLSConfig(server_root_ca_cert=open(ca, "rb").read(), domain="localhost")
    reader = await Client.connect(address, tls=tls, api_key=reader_key)
    described = (await reader.get_workflow_handle("py-tls").describe()).status.name
    try:
        await reader.start_workflow(OrderWorkflow.run, "x", id="py-tls-denied", task_queue=QUEUE)
        denied = None
    except RPCError as error:
        denied = error.status.name
    anonymous = await Client.connect(address, tls=tls)
    try:
        await anonymous.get_workflow_handle("py-tls").describe()
        unauthenticated = None
    except RPCError as error:
        unauthenticated = error.status.name
    return {
        "result": result,
        "reader_describes": described,
        "reader_starts": denied,
        "no_key": unauthenticated,
    }


async def async_completion(client: Client) -> dict:
    handle = await client.start_workflow(AsyncWorkflow.run, id="py-async", task_queue=QUEUE)
    while "by-id" not in tokens:
        await asyncio.sleep(0.02)
    by_id = client.get_async_activity_handle(workflow_id="py-async", run_id=None, activity_id="by-id")
    await by_id.heartbeat("halfway")
    described = await handle.describe()
    heartbeat = [
        a.heartbeat_details.payloads[0].data.decode()
        for a in described.raw_description.pending_activities
        if a.activity_id == "by-id"
    ]
    await by_id.complete("done by hand")
    while "by-token" not in tokens:
        await asyncio.sleep(0.02)
    by_token = client.get_async_activity_handle(task_token=tokens["by-token"])
    await by_token.fail(ApplicationError("refused by hand", non_retryable=True))
    try:
        await by_id.complete("again")
        again = None
    except RPCError as error:
        again = error.status.name
    return {"result": await handle.result(), "heartbeat": heartbeat, "again": again}


async def schedules(client: Client) -> dict:
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleCalendarSpec,
        ScheduleIntervalSpec,
        ScheduleOverlapPolicy,
        ScheduleRange,
        ScheduleSpec,
        ScheduleState,
        ScheduleUpdate,
    )

    handle = await client.create_schedule(
        "py-every-second",
        Schedule(
            action=ScheduleActionStartWorkflow(
                OrderWorkflow.run, "scheduled", id="py-scheduled", task_queue=QUEUE
            ),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=1))]),
            state=ScheduleState(note="from python"),
        ),
        memo={"owner": "ann"},
    )
    while (await handle.describe()).info.num_actions < 2:
        await asyncio.sleep(0.1)
    await handle.pause(note="enough")
    paused = (await handle.describe()).schedule.state
    before = (await handle.describe()).info.num_actions
    # The last interval run may still be going: under the default overlap policy (skip)
    # a trigger would be skipped, as on Temporal; allow-all takes it. A start's workflow id
    # ends with its time to the second, so the trigger waits for the next second (in the
    # same second as the last run its id would be taken, as on Temporal).
    await asyncio.sleep(1.1)
    await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    while (await handle.describe()).info.num_actions <= before:
        await asyncio.sleep(0.05)
    described = await handle.describe()
    schedule_memo = await described.memo()
    first = described.info.recent_actions[0].action
    first_result = await client.get_workflow_handle(first.workflow_id, run_id=first.first_execution_run_id).result()

    async def nine_o_clock(update):
        schedule = update.description.schedule
        schedule.spec = ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(9)], comment="nine")]
        )
        return ScheduleUpdate(schedule=schedule)

    await handle.update(nine_o_clock)
    updated = (await handle.describe()).schedule.spec.calendars[0]
    listed = [entry.id async for entry in await client.list_schedules()]
    await handle.delete()
    remaining = [entry.id async for entry in await client.list_schedules()]
    return {
        "paused": paused.paused,
        "note": paused.note,
        "manual_action": described.info.num_actions > before,
        "memo": schedule_memo,
        "first_result": first_result,
        "first_id": first.workflow_id,
        "updated_hour": [r.start for r in updated.hour],
        "updated_comment": updated.comment,
        "listed": listed,
        "remaining": remaining,
    }


async def replay(client: Client) -> dict:
    """Continue-as-new, a local activity, a heartbeat timeout; then the SDK's replayer on
    the histories Endure kept (it fails on any nondeterminism or malformed event)."""
    from temporalio.worker import Replayer

    countdown = await client.start_workflow(
        CountdownWorkflow.run, 2, id="py-countdown", task_queue=QUEUE
    )
    counted = await countdown.result()
    stall = await client.start_workflow(StallWorkflow.run, id="py-stall", task_queue=QUEUE)
    while "resume" not in tokens:
        await asyncio.sleep(0.05)
    await client.get_async_activity_handle(task_token=tokens.pop("resume")).fail(
        ApplicationError("crashed mid-way"), last_heartbeat_details=["step-2"]
    )
    stalled = await stall.result()
    await client.execute_workflow(OrderWorkflow.run, "replayed", id="py-replayed", task_queue=QUEUE)

    replayer = Replayer(workflows=WORKFLOWS)
    replayed = []
    for workflow_id, run_id in [
        ("py-countdown", countdown.first_execution_run_id),
        ("py-countdown", None),
        ("py-stall", None),
        ("py-replayed", None),
    ]:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        replayed.append(
            {
                "workflow_id": workflow_id,
                "events": len(history.events),
                "failure": None if result.replay_failure is None else str(result.replay_failure),
            }
        )
    return {"counted": counted, "stalled": stalled, "replayed": replayed}


async def cluster(client: Client) -> dict:
    """Orders whose workflow ids fall in every node's shards, started and served through
    the one node this client and its worker reach (`endure server start --node`)."""
    runs = [
        client.execute_workflow(OrderWorkflow.run, f"user_{i}", id=f"py-cluster-{i}", task_queue=QUEUE)
        for i in range(CLUSTER_ORDERS)
    ]
    return {"results": await asyncio.gather(*runs)}


# Orders of the `cluster` scenario: enough that every node of three serves some.
CLUSTER_ORDERS = 24


SCENARIOS = {
    "cluster": cluster,
    "versioning": versioning,
    "replay": replay,
    "schedules": schedules,
    "async_completion": async_completion,
    "update_with_start": update_with_start,
    "visibility": visibility,
    "quickstart": quickstart,
    "approval": approval,
    "failures": failures,
    "children": children,
    "lifecycle": lifecycle,
}


async def main(scenario: str, address: str, extra: list) -> None:
    if scenario == "secure":
        from temporalio.service import TLSConfig

        ca, key = extra[0], extra[1]
        tls = TLSConfig(server_root_ca_cert=open(ca, "rb").read(), domain="localhost")
        client = await Client.connect(address, tls=tls, api_key=key)
    else:
        client = await Client.connect(address)
    if scenario == "serve-versioned":
        await serve_versioned(client)
        return
    async with Worker(client, task_queue=QUEUE, workflows=WORKFLOWS, activities=ACTIVITIES):
        if scenario == "serve":
            # A worker for others (the `temporal` CLI's test): serves until stdin closes.
            print(json.dumps({"serving": QUEUE}), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            return
        if scenario == "secure":
            seen = await secure(client, address, *extra)
        else:
            seen = await SCENARIOS[scenario](client)
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
    # The SDK's native threads can abort the interpreter's finalization (a known
    # `PyGILState_Release` crash at exit, unrelated to the server); the scenario is done.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
