"""Temporal's Worker Versioning against Endure, for `scenarios.py`: a workflow that reports
the build that finished it, the `versioning` scenario, and a worker of deployment `orders`
build 1.0 (`serve-versioned`) for the `temporal` CLI's test."""

import asyncio
import json
import sys

from temporalio import workflow
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker


@workflow.defn
class VersionedWorkflow:
    """Waits for `proceed`; answers the build id of the worker that finished it."""

    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return workflow.info().get_current_deployment_version().build_id

    @workflow.signal
    def proceed(self) -> None:
        self.go = True


async def versioning(client: Client) -> dict:
    """Worker Versioning: two versions of a deployment, runs pinned to the version they
    started on, the current version moved, one run's override, a stale conflict token."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionMessage
    from temporalio.api.workflow.v1 import VersioningOverride, WorkflowExecutionOptions
    from temporalio.api.workflowservice.v1 import (
        DescribeWorkerDeploymentRequest,
        ListWorkerDeploymentsRequest,
        SetWorkerDeploymentCurrentVersionRequest,
        UpdateWorkflowExecutionOptionsRequest,
    )
    from google.protobuf.field_mask_pb2 import FieldMask
    from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
    from temporalio.worker import WorkerDeploymentConfig

    queue = "versioned"
    service = client.workflow_service

    def worker(build_id: str) -> Worker:
        return Worker(
            client,
            task_queue=queue,
            workflows=[VersionedWorkflow],
            deployment_config=WorkerDeploymentConfig(
                version=WorkerDeploymentVersion("orders", build_id),
                use_worker_versioning=True,
                default_versioning_behavior=VersioningBehavior.PINNED,
            ),
        )

    async def describe():
        return await service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace="default", deployment_name="orders")
        )

    async def make_current(build_id: str) -> bytes:
        # The version exists once one of its workers has polled.
        while True:
            try:
                described = await describe()
                builds = [
                    s.deployment_version.build_id
                    for s in described.worker_deployment_info.version_summaries
                ]
                if build_id in builds:
                    break
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.05)
        await service.set_worker_deployment_current_version(
            SetWorkerDeploymentCurrentVersionRequest(
                namespace="default",
                deployment_name="orders",
                build_id=build_id,
                conflict_token=described.conflict_token,
            )
        )
        return described.conflict_token

    async def pinned_to(handle) -> str:
        while True:
            info = (await handle.describe()).raw_description.workflow_execution_info
            if info.versioning_info.behavior == VersioningBehavior.PINNED.value:
                return info.versioning_info.deployment_version.build_id
            await asyncio.sleep(0.05)

    async with worker("1.0"):
        stale = await make_current("1.0")
        old = await client.start_workflow(VersionedWorkflow.run, id="py-pinned-old", task_queue=queue)
        old_pinned = await pinned_to(old)
        async with worker("2.0"):
            await make_current("2.0")
            new = await client.start_workflow(VersionedWorkflow.run, id="py-pinned-new", task_queue=queue)
            moved = await client.start_workflow(VersionedWorkflow.run, id="py-pinned-moved", task_queue=queue)
            new_pinned = await pinned_to(new)
            await pinned_to(moved)
            # An operator pins one run back to 1.0.
            override = await service.update_workflow_execution_options(
                UpdateWorkflowExecutionOptionsRequest(
                    namespace="default",
                    workflow_execution=WorkflowExecution(workflow_id="py-pinned-moved"),
                    workflow_execution_options=WorkflowExecutionOptions(
                        versioning_override=VersioningOverride(
                            pinned=VersioningOverride.PinnedOverride(
                                behavior=VersioningOverride.PinnedOverrideBehavior.PINNED_OVERRIDE_BEHAVIOR_PINNED,
                                version=VersionMessage(deployment_name="orders", build_id="1.0"),
                            )
                        )
                    ),
                    update_mask=FieldMask(paths=["versioning_override"]),
                )
            )
            for handle in (old, new, moved):
                await handle.signal(VersionedWorkflow.proceed)
            results = [await handle.result() for handle in (old, new, moved)]
            try:
                await service.set_worker_deployment_current_version(
                    SetWorkerDeploymentCurrentVersionRequest(
                        namespace="default",
                        deployment_name="orders",
                        build_id="1.0",
                        conflict_token=stale,
                    )
                )
                stale_refused = None
            except RPCError as error:
                stale_refused = error.status.name
            described = await describe()
            listed = await service.list_worker_deployments(ListWorkerDeploymentsRequest(namespace="default"))
    routing = described.worker_deployment_info.routing_config
    # The SDK's replayer takes the history with the options change (an event it may skip).
    from temporalio.worker import Replayer

    moved_history = await client.get_workflow_handle("py-pinned-moved").fetch_history()
    replayed = await Replayer(workflows=[VersionedWorkflow]).replay_workflow(
        moved_history, raise_on_replay_failure=False
    )
    return {
        "replay_failure": None if replayed.replay_failure is None else str(replayed.replay_failure),
        "old_pinned": old_pinned,
        "new_pinned": new_pinned,
        "override": override.workflow_execution_options.versioning_override.pinned.version.build_id,
        "results": results,
        "stale_refused": stale_refused,
        "current": routing.current_deployment_version.build_id,
        "versions": sorted(
            [
                s.deployment_version.build_id,
                s.status,
            ]
            for s in described.worker_deployment_info.version_summaries
        ),
        "listed": [d.name for d in listed.worker_deployments],
    }


async def serve_versioned(client: Client) -> None:
    """Serves until stdin closes."""
    # A worker of deployment `orders` build 1.0 (pinned by default) on `versioned`.
    from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
    from temporalio.worker import WorkerDeploymentConfig

    config = WorkerDeploymentConfig(
        version=WorkerDeploymentVersion("orders", "1.0"),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )
    async with Worker(client, task_queue="versioned", workflows=[VersionedWorkflow], deployment_config=config):
        print(json.dumps({"serving": "versioned"}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
