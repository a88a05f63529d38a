"""engram's MCP server driven by the official Python MCP SDK's client (`mcp` on PyPI).

Both transports: Streamable HTTP at /mcp on `engram serve`, and stdio (`engram mcp`), alone
and beside a running server. Needs ENGRAM_BIN (the engram binary) and the model installed;
`.ci/mcp` sets both up and runs this file.
"""

import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

ENGRAM = os.environ.get("ENGRAM_BIN", "target/debug/engram")
TOOLS = {
    "recall",
    "remember_error",
    "remember_solution",
    "remember_pattern",
    "learn_from_consensus",
    "suggest_patterns",
    "start_episode",
    "record_event",
    "end_episode",
    "analyze_failures",
    "swarm_get",
    "swarm_put",
    "record_task_outcome",
    "coordination_strategy",
}


@pytest.fixture
def anyio_backend():
    return "asyncio"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """An `engram serve` on its own data directory."""

    def __init__(self, data_dir, key=None, agent_keys=""):
        self.data_dir = data_dir
        self.key = key
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, ENGRAM_DATA_DIR=data_dir, ENGRAM_LOG="engram=warn")
        env["ENGRAM_API_KEYS"] = key or ""
        env["ENGRAM_AGENT_KEYS"] = agent_keys
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [ENGRAM, "serve", "--listen", f"127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            # A file, not a pipe nobody drains: a full pipe would stall the server.
            stderr=self.log,
        )
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                break
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"engram serve did not start: {self.output()}")
                time.sleep(0.1)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def get(self, path):
        request = urllib.request.Request(f"{self.url}{path}")
        if self.key:
            request.add_header("Authorization", f"Bearer {self.key}")
        return json.load(urllib.request.urlopen(request, timeout=30))

    def post(self, path, body):
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        if self.key:
            request.add_header("Authorization", f"Bearer {self.key}")
        return json.load(urllib.request.urlopen(request, timeout=60))

    def count(self, kind):
        stats = self.get("/v1/stats")
        return next(c["entries"] for c in stats["collections"] if c["kind"] == kind)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="engram-mcp-") as d:
        yield d


@pytest.fixture
def server(data_dir):
    served = Served(data_dir)
    yield served
    served.stop()


def text(result):
    return "\n".join(block.text for block in result.content if block.type == "text")


def ok(result):
    assert not result.is_error, text(result)
    return result


def stdio(data_dir, agent, **env):
    return StdioServerParameters(
        command=ENGRAM,
        args=["mcp", "--agent", agent],
        env={"ENGRAM_DATA_DIR": data_dir, "ENGRAM_LOG": "engram=warn", **env},
    )


PYTHON_WINNER = '''
def retry_with_backoff(call, attempts=5):
    """Calls `call` until it succeeds, sleeping longer after each failure."""
    for attempt in range(attempts):
        try:
            return call()
        except ConnectionError:
            time.sleep(2 ** attempt)
    raise RuntimeError("gave up")
'''


async def every_tool(client, agent="tester"):
    """Calls each of the fourteen tools once, checking what each answers."""
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert tool.description and tool.input_schema["type"] == "object", tool.name

    stored = ok(await client.call_tool("remember_error", {
        "message": "ModuleNotFoundError: No module named 'fastapi'",
        "resolution": "pip install fastapi uvicorn",
        "language": "python",
    }))
    assert stored.structured_content["created"] is True
    assert "Stored" in text(stored)
    hits = ok(await client.call_tool("recall", {"kind": "errors", "query": "Cannot import fastapi"}))
    first = hits.structured_content["results"][0]
    assert first["record"]["resolution"] == "pip install fastapi uvicorn"
    assert first["record"]["source"] == agent
    assert first["similarity"] > 0.5
    assert "pip install fastapi uvicorn" in text(hits)
    nothing = ok(await client.call_tool("recall", {
        "kind": "errors", "query": "how long should sourdough proof overnight", "min_score": 0.3,
    }))
    assert nothing.structured_content["results"] == []
    assert text(nothing) == "Nothing relevant is stored."

    ok(await client.call_tool("remember_solution", {
        "problem": "Postgres connections run out under load",
        "solution": "Put PgBouncer in transaction mode in front of the database",
        "success_rate": 0.9,
    }))
    hits = ok(await client.call_tool("recall", {"kind": "solutions", "query": "too many database connections"}))
    assert "PgBouncer" in hits.structured_content["results"][0]["record"]["solution"]

    ok(await client.call_tool("remember_pattern", {
        "name": "debounce", "language": "typescript", "context": "collapse bursts of calls",
        "code": "function debounce(f: () => void, ms: number) { let t: any; return () => { clearTimeout(t); t = setTimeout(f, ms); }; }",
    }))
    hits = ok(await client.call_tool("recall", {"kind": "patterns", "query": "collapse bursts of calls", "language": "typescript"}))
    assert hits.structured_content["results"][0]["record"]["name"] == "debounce"

    learned = ok(await client.call_tool("learn_from_consensus", {
        "code": PYTHON_WINNER, "task": "retry flaky network calls", "file_name": "retry.py", "success_rate": 1.0,
    }))
    assert learned.structured_content["language"] == "python"
    assert len(learned.structured_content["patterns"]) >= 1
    suggested = ok(await client.call_tool("suggest_patterns", {"task": "retry a flaky network call", "language": "python"}))
    names = [hit["record"]["name"] for hit in suggested.structured_content["results"]]
    assert "retry_with_backoff" in names, names

    started = ok(await client.call_tool("start_episode", {"task": "deploy the billing service", "context": {"env": "staging"}}))
    episode = started.structured_content["id"]
    assert episode in text(started)
    event = ok(await client.call_tool("record_event", {
        "episode_id": episode, "event_type": "test", "data": {"error": "AssertionError: expected 201, got 500"},
    }))
    assert event.structured_content["sequence"] == 0
    ended = ok(await client.call_tool("end_episode", {"episode_id": episode, "success": False}))
    assert ended.structured_content["status"] == "failed"
    failures = ok(await client.call_tool("analyze_failures", {}))
    group = failures.structured_content["groups"][0]
    assert group["failure"]["agent_role"] == agent
    assert "AssertionError" in text(failures)
    similar = ok(await client.call_tool("recall", {"kind": "episodes", "query": "deploying billing"}))
    assert similar.structured_content["results"][0]["id"] == episode

    # Swarm memory: shared state, the caller's own agent keys only, outcomes and strategies.
    key = f"swarm/mcp-test/{uuid.uuid4()}"
    written = ok(await client.call_tool("swarm_put", {"key": key, "value": {"leader": agent}}))
    assert written.structured_content["entry"]["version"] == 1
    read = ok(await client.call_tool("swarm_get", {"key": key}))
    assert read.structured_content["value"] == {"leader": agent}
    assert "version 1" in text(read)
    conflict = await client.call_tool("swarm_put", {"key": key, "value": 2})
    assert conflict.is_error and text(conflict).startswith("conflict"), text(conflict)
    ok(await client.call_tool("swarm_put", {"key": f"agent/{agent}/state", "value": {"busy": True}, "policy": "last_write_wins"}))
    foreign = await client.call_tool("swarm_put", {"key": "agent/someone-else/state", "value": 1})
    assert foreign.is_error and "someone-else" in text(foreign), text(foreign)
    task_type = f"mcp_review_{uuid.uuid4().hex[:8]}"
    for success in (True, True, False):
        recorded = ok(await client.call_tool("record_task_outcome", {
            "task_type": task_type, "success": success, "execution_time": 30,
            "context": {"repo": "billing"}, "strategy": "pair_review",
        }))
        assert recorded.structured_content["agents"] == [agent]
    advice = ok(await client.call_tool("coordination_strategy", {"context": {"task_type": task_type, "repo": "billing"}}))
    best = advice.structured_content["strategy"]
    assert best["strategy"] == "pair_review" and best["outcomes"] == 3 and best["successes"] == 2
    assert "Recommended: pair_review" in text(advice)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_tool_over_streamable_http(server, mode):
    # "legacy" is the initialize handshake (protocol 2025-11-25); "auto" takes the newest
    # revision both sides speak.
    async with Client(f"{server.url}/mcp", mode=mode) as client:
        # Without a key bound to an agent, the caller over HTTP is "mcp".
        await every_tool(client, agent="mcp")


@pytest.mark.anyio
async def test_every_tool_over_stdio_alone(data_dir):
    # No server: engram mcp opens the data directory itself.
    async with Client(stdio(data_dir, "tester"), mode="legacy") as client:
        await every_tool(client)


@pytest.mark.anyio
async def test_every_tool_over_stdio_beside_a_server(server):
    async with Client(stdio(server.data_dir, "tester")) as client:
        await every_tool(client)
    # It went to the server: the server counts what the tools stored.
    assert server.count("error") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_bad_arguments_are_tool_errors_and_the_session_goes_on(server, transport):
    target = f"{server.url}/mcp" if transport == "http" else stdio(server.data_dir, "tester")
    async with Client(target) as client:
        for name, arguments, code in [
            ("recall", {"query": "x"}, "invalid_arguments"),
            ("recall", {"kind": "notes", "query": "x"}, "invalid_arguments"),
            ("recall", {"kind": "errors", "query": "x", "limit": "many"}, "invalid_arguments"),
            ("remember_error", {"message": "\u200b\u200b", "resolution": "noop"}, "invalid_request"),
            ("remember_pattern", {"name": "n", "code": "x = 1", "language": "cobol"}, "invalid_request"),
            ("record_event", {"episode_id": "../stats", "event_type": "t"}, "invalid_arguments"),
            ("record_event", {"episode_id": str(uuid.uuid4()), "event_type": "t"}, "not_found"),
            ("end_episode", {"episode_id": str(uuid.uuid4()), "success": "yes"}, "invalid_arguments"),
            ("start_episode", {"task": "t", "context": {"n": 184467440737095516150}}, "invalid_request"),
        ]:
            result = await client.call_tool(name, arguments)
            assert result.is_error, (name, arguments, text(result))
            assert result.structured_content["error"]["code"] == code, (name, text(result))
            assert text(result).startswith(code + ":"), text(result)
        # The session goes on, and nothing was stored by the refused calls.
        ok(await client.call_tool("recall", {"kind": "errors", "query": "x"}))
    assert server.count("error") == 0


@pytest.mark.anyio
async def test_twenty_concurrent_http_sessions(server):
    # Names, not numbers, tell the errors apart: normalisation abstracts ids and counters.
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
             "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]

    async def session(i):
        async with Client(f"{server.url}/mcp") as client:
            message = f"ConnectionRefusedError: [Errno 111] the {names[i]} worker cannot reach its queue"
            ok(await client.call_tool("remember_error", {"message": message, "resolution": f"restart {names[i]}'s queue"}))
            hits = ok(await client.call_tool("recall", {"kind": "errors", "query": message, "limit": 1}))
            assert hits.structured_content["results"][0]["record"]["resolution"] == f"restart {names[i]}'s queue"

    async with anyio.create_task_group() as group:
        for i in range(20):
            group.start_soon(session, i)
    assert server.count("error") == 20
    # Each tool call went through the routes' guards and metrics, as a request would.
    metrics = urllib.request.urlopen(f"{server.url}/metrics", timeout=30).read().decode()
    for route in ["/v1/errors", "/v1/errors/recall"]:
        line = f'engram_http_requests_total{{method="POST",route="{route}",status="200"}} 20'
        assert line in metrics, metrics


@pytest.mark.anyio
async def test_two_stdio_processes_and_the_server_all_write(server):
    per_writer = 15

    async def agent(name):
        async with Client(stdio(server.data_dir, name)) as client:
            for i in range(per_writer):
                ok(await client.call_tool("remember_error", {
                    "message": f"TimeoutError: {name} step {i} timed out", "resolution": f"raise {name}'s timeout {i}",
                }))

    def direct():
        for i in range(per_writer):
            server.post("/v1/errors", {"message": f"OSError: direct write {i}", "resolution": f"retry write {i}"})

    async with anyio.create_task_group() as group:
        group.start_soon(agent, "agent-a")
        group.start_soon(agent, "agent-b")
        group.start_soon(anyio.to_thread.run_sync, direct)
    assert server.count("error") == 3 * per_writer
    errors = next(c for c in server.get("/v1/stats")["collections"] if c["kind"] == "error")
    assert errors["by_source"] == {"agent-a": per_writer, "agent-b": per_writer, "api": per_writer}


@pytest.mark.anyio
async def test_a_second_stdio_process_is_served_by_the_first(data_dir):
    # Without a server the first engram mcp holds the directory and serves it on loopback;
    # the second forwards there instead of waiting for the lock.
    async with Client(stdio(data_dir, "first")) as first:
        ok(await first.call_tool("remember_error", {"message": "E-first: a", "resolution": "r1"}))
        async with Client(stdio(data_dir, "second")) as second:
            ok(await second.call_tool("remember_error", {"message": "E-second: b", "resolution": "r2"}))
            hits = ok(await second.call_tool("recall", {"kind": "errors", "query": "E-first: a", "limit": 2}))
            assert {h["record"]["source"] for h in hits.structured_content["results"]} == {"first", "second"}


@pytest.mark.anyio
async def test_mcp_over_http_needs_a_key_and_a_bound_key_names_the_caller(data_dir):
    admin = "mcp-admin-key-0123456789abcdef"
    bound = "mcp-coder-key-0123456789abcdef"
    served = Served(data_dir, key=admin, agent_keys=f"coder-7={bound}")
    try:
        async with httpx2.AsyncClient() as plain:
            answer = await plain.post(f"{served.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "unauthorized"
        for key, message, source in [(admin, "E-admin: k", "mcp"), (bound, "E-coder: k", "coder-7")]:
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as keyed:
                async with Client(streamable_http_client(f"{served.url}/mcp", http_client=keyed)) as client:
                    ok(await client.call_tool("remember_error", {"message": message, "resolution": "r"}))
                    hits = ok(await client.call_tool("recall", {"kind": "errors", "query": message, "limit": 1}))
                    assert hits.structured_content["results"][0]["record"]["source"] == source
        errors = next(c for c in served.get("/v1/stats")["collections"] if c["kind"] == "error")
        assert errors["by_source"] == {"mcp": 1, "coder-7": 1}
    finally:
        served.stop()


@pytest.mark.anyio
async def test_sigterm_ends_open_mcp_sessions_and_the_server_exits(data_dir):
    # A session of the initialize handshake keeps an event stream open (GET /mcp); a
    # graceful shutdown must end it rather than wait for it forever.
    served = Served(data_dir)
    client = Client(f"{served.url}/mcp", mode="legacy")
    await client.__aenter__()
    try:
        ok(await client.call_tool("remember_error", {"message": "E-open: s", "resolution": "r"}))
        await anyio.sleep(0.5)
        started = time.monotonic()
        served.process.terminate()
        code = await anyio.to_thread.run_sync(lambda: served.process.wait(timeout=20))
        assert code == 0, served.output()
        assert time.monotonic() - started < 10
    finally:
        with contextlib.suppress(BaseException):
            await client.__aexit__(None, None, None)
    # What was acknowledged is there after the restart.
    again = Served(data_dir)
    try:
        assert again.count("error") == 1
    finally:
        again.stop()


@pytest.mark.anyio
async def test_when_the_serving_stdio_process_ends_the_other_takes_over(data_dir):
    first_ready, first_may_end, first_ended = anyio.Event(), anyio.Event(), anyio.Event()

    async def first():
        async with Client(stdio(data_dir, "first")) as client:
            ok(await client.call_tool("remember_error", {"message": "E-before: a", "resolution": "r1"}))
            first_ready.set()
            await first_may_end.wait()
        first_ended.set()

    async def second():
        await first_ready.wait()
        async with Client(stdio(data_dir, "second")) as client:
            ok(await client.call_tool("remember_error", {"message": "E-during: b", "resolution": "r2"}))
            first_may_end.set()
            await first_ended.wait()
            # The process it forwarded to is gone: the next call opens the directory itself.
            ok(await client.call_tool("remember_error", {"message": "E-after: c", "resolution": "r3"}))
            hits = ok(await client.call_tool("recall", {"kind": "errors", "query": "E-before: a", "limit": 3}))
            assert {h["record"]["resolution"] for h in hits.structured_content["results"]} == {"r1", "r2", "r3"}

    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            group.start_soon(first)
            group.start_soon(second)
