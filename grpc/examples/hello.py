"""Temporal's Python SDK, unchanged, on Endure: a worker and a client in one process.

    endure server start-dev -f :memory:                 # Endure on 127.0.0.1:7233
    python3 -m venv .venv && .venv/bin/pip install temporalio
    .venv/bin/python grpc/examples/hello.py              # prints the result

`endure workflow show -w hello-endure` (or Temporal's `temporal workflow show`) shows the
history Endure wrote.
"""

import asyncio
import os
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn
async def compose_greeting(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        greeting = await workflow.execute_activity(
            compose_greeting, name, start_to_close_timeout=timedelta(seconds=10)
        )
        await asyncio.sleep(1)  # a durable timer
        return f"{greeting} (from Endure)"


async def main() -> None:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:7233"
    client = await Client.connect(address)
    async with Worker(
        client, task_queue="hello", workflows=[GreetingWorkflow], activities=[compose_greeting]
    ):
        result = await client.execute_workflow(
            GreetingWorkflow.run, "Temporal user", id="hello-endure", task_queue="hello"
        )
    print(result)


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # the SDK's native threads can abort the interpreter's exit
