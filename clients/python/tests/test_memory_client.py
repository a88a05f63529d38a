"""MemoryClient and AsyncMemoryClient against a live `engram serve` (started by the fixture
on its own data directory): every method of the note's list, typed errors, compare-and-set
conflicts, per-item batch errors, retries of a server that is not up yet, and the breaker.

Needs ENGRAM_BIN (the engram binary) and the model installed; `.ci/python-client` sets both
up and runs this file."""

import tempfile
import threading
import time

import anyio
import pytest

from engram_client import (
    AsyncMemoryClient,
    CircuitOpen,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidRequest,
    MemoryClient,
    NotFound,
)
from engram_server import ADMIN, ALPHA, free_port, server, start, wait_up  # noqa: F401


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_every_method_of_the_note(server):
    client = MemoryClient(server, api_key=ADMIN)
    session = client.create_session("user-42", session_metadata={"channel": "cli"})
    assert session["session_type"] == "conversation"
    client.set_session_id(session["id"])
    client.set_agent_id(None)
    parent = client.add_memory(
        "Release 2.0 plan", memory_type="plan", memory_tier="long", importance=0.9
    )
    assert parent["session_id"] == session["id"]
    assert parent["version"] == 1
    a = client.add_memory(
        "Freeze the API on Monday", memory_tier="medium", tags=["api"], parent_id=parent["id"]
    )
    b = client.add_memory(
        "Write the migration guide", tags=["docs"], parent_id=parent["id"],
        metadata={"owner": "docs-team", "pages": 12},
    )
    assert b["memory_tier"] == "short" and b["expires_at"] is not None
    assert client.get_memory(b["id"])["metadata"] == {"owner": "docs-team", "pages": 12}

    # Versions: compare-and-set, a stale version is a Conflict carrying the current one.
    v2 = client.update_memory(a["id"], {"importance": 0.7, "expected_version": 1})
    assert v2["version"] == 2
    with pytest.raises(Conflict) as stale:
        client.update_memory(a["id"], {"importance": 0.1, "expected_version": 1})
    assert stale.value.code == "conflict"
    assert stale.value.current_version == 2
    history = client.get_memory_history(a["id"])
    assert [v["version"] for v in history["versions"]] == [1, 2]

    hits = client.search_memory("when is the API frozen?", limit=2)
    assert hits[0]["memory"]["id"] == a["id"]
    assert 0 < hits[0]["score"] <= 1
    typed = client.search_memory("release plan", memory_type="plan")
    assert [h["memory"]["id"] for h in typed] == [parent["id"]]
    filtered = client.semantic_search("release", k=5, filters={"tags": ["docs"]})
    assert [h["memory"]["id"] for h in filtered] == [b["id"]]
    children = client.get_children(parent["id"], sort_field="created_at", sort_order="asc")
    assert [c["id"] for c in children] == [a["id"], b["id"]]

    rel = client.add_relationship(a["id"], b["id"], "precedes", strength=0.8)
    assert rel["strength"] == 0.8
    related = client.get_related_memories(b["id"])
    assert related[0]["direction"] == "incoming"
    assert related[0]["memory"]["id"] == a["id"]
    assert client.get_related_memories(b["id"], relationship_type="other") == []

    reinforced = client.reinforce_memory(b["id"])
    assert reinforced["reinforcements"] == 1
    assert abs(reinforced["reinforcement"] - (1 - 1 / 1.2)) < 1e-9

    batch = client.batch_add_memories(
        [
            {"content": "Tag the release", "memory_tier": "long"},
            {"content": ""},
            {"content": "Announce the release", "importance": 7},
            {"content": "Update the changelog", "parent_id": parent["id"]},
        ]
    )
    assert (batch["stored"], batch["failed"]) == (2, 2)
    assert batch["results"][1]["error"]["code"] == "invalid_request"
    assert "importance" in batch["results"][2]["error"]["message"]
    assert batch["results"][3]["memory"]["session_id"] == session["id"]
    got = client.batch_get_memories(
        [b["id"], "00000000-0000-0000-0000-000000000001", a["id"]]
    )
    assert [m and m["id"] for m in got["memories"]] == [b["id"], None, a["id"]]

    group = client.create_context_group("release", description="what we know")
    assert len(group["id"]) == 36, "a UUID, safe across servers"
    client.add_to_group(a["id"], group["id"])
    members = client.get_memories_by_group(group["id"])
    assert [m["id"] for m in members["memories"]] == [a["id"]]

    sessions = client.list_sessions(user_id="user-42")
    assert sessions[0]["id"] == session["id"]
    ended = client.end_session(session["id"])
    assert ended["ended_at"] is not None
    assert client.list_sessions(active=True) == []

    status = client.get_circuit_breaker_status()
    assert status["client"]["state"] == "closed"
    assert status["server"] == {
        "backend": "edge", "state": "closed", "consecutive_failures": 0, "last_error": None,
    }
    assert client.reset_circuit_breaker()["server"]["state"] == "closed"

    deleted = client.delete_memory(parent["id"], cascade=True)
    assert deleted["deleted"] == 4, deleted
    with pytest.raises(NotFound) as gone:
        client.get_memory(a["id"])
    assert gone.value.code == "not_found" and gone.value.status == 404
    client.close()


def test_errors_are_typed_and_agents_are_isolated(server):
    admin = MemoryClient(server, api_key=ADMIN)
    alpha = MemoryClient(server, api_key=ALPHA)
    with pytest.raises(InvalidRequest) as empty:
        admin.add_memory("")
    assert empty.value.code == "invalid_request"
    with pytest.raises(InvalidRequest):
        admin.add_memory("x", importance=1.5)
    secret = alpha.add_memory("Alpha's private note", memory_tier="long")
    assert secret["agent_id"] == "alpha"
    with pytest.raises(Forbidden) as forged:
        alpha.set_agent_id("beta")
        alpha.add_memory("pretending to be beta")
    assert forged.value.code == "forbidden"
    alpha.set_agent_id(None)
    # An admin sees it; an agentless memory is seen by alpha.
    assert admin.get_memory(secret["id"])["content"] == "Alpha's private note"
    public = admin.add_memory("Office hours are 9 to 5", memory_tier="long")
    assert alpha.get_memory(public["id"])["id"] == public["id"]
    with pytest.raises(Forbidden):
        alpha.update_memory(public["id"], {"importance": 0.1})
    with pytest.raises(Forbidden):
        alpha.delete_memory(public["id"])
    with pytest.raises(Forbidden):
        alpha.reset_circuit_breaker()
    with pytest.raises(NotFound):
        admin.get_memory("00000000-0000-0000-0000-000000000009")
    with pytest.raises(InvalidRequest) as bad_id:
        admin.get_memory("not-a-uuid")
    assert bad_id.value.code == "invalid_id"


def test_the_async_client_runs_the_same_calls(server):
    async def main():
        async with AsyncMemoryClient(server, api_key=ADMIN) as client:
            made = await client.add_memory(
                "The staging database restarts nightly", memory_tier="long"
            )
            other = await client.add_memory("Staging deploys need approval", memory_tier="long")
            hits = await client.semantic_search("when does staging restart?", k=1)
            assert hits[0]["memory"]["id"] == made["id"]
            await client.add_relationship(made["id"], other["id"], "relates_to")
            related = await client.get_related_memories(other["id"])
            assert related[0]["memory"]["id"] == made["id"]
            with pytest.raises(Conflict):
                await client.update_memory(made["id"], {"importance": 1, "expected_version": 9})
            batch = await client.batch_add_memories(
                [{"content": f"Async fact {i}", "memory_tier": "long"} for i in range(50)]
            )
            assert batch["stored"] == 50
            got = await client.batch_get_memories([r["memory"]["id"] for r in batch["results"]])
            assert all(m is not None for m in got["memories"])
            status = await client.get_circuit_breaker_status()
            assert status["server"]["backend"] == "edge"
            deleted = await client.delete_memory(made["id"], cascade=False)
            assert deleted["relationships"] == 1

    anyio.run(main)


def test_a_server_that_comes_up_late_is_reached_by_retries():
    """Connection refused is retried with backoff: the first call lands once the server is
    up (engram serve takes a second or more to load the model)."""
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        started = {}

        def late_start():
            time.sleep(0.5)
            started["server"] = start(data, port, keys=False)

        thread = threading.Thread(target=late_start)
        thread.start()
        client = MemoryClient(url, retries=12, breaker_threshold=100)
        try:
            made = client.add_memory("Written through the retries", memory_tier="long")
            assert client.get_memory(made["id"])["content"] == "Written through the retries"
        finally:
            thread.join()
            process, _ = started["server"]
            process.terminate()
            process.wait(timeout=30)


def test_the_breaker_opens_after_repeated_failures_and_fails_fast():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    client = MemoryClient(url, retries=0, breaker_threshold=3, breaker_cooldown=60)
    for _ in range(3):
        with pytest.raises(ConnectionFailed):
            client.get_memory("00000000-0000-0000-0000-000000000001")
    status = client.breaker.status()
    assert status["state"] == "open" and status["consecutive_failures"] == 3
    began = time.monotonic()
    with pytest.raises(CircuitOpen) as fast:
        client.get_memory("00000000-0000-0000-0000-000000000001")
    assert time.monotonic() - began < 0.05
    assert fast.value.code == "circuit_open"
    client.breaker.reset()
    assert client.breaker.status()["state"] == "closed"
    with pytest.raises(ConnectionFailed):
        client.get_memory("00000000-0000-0000-0000-000000000001")
