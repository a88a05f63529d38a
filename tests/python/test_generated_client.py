"""A client generated from engram's OpenAPI document by openapi-python-client (from PyPI)
stores, recalls and runs an episode's lifecycle against a live `engram serve`.

`.ci/contract` (run by `.ci/run`) generates the client from `openapi.json` into a
temporary folder, starts a server, and runs this file with `ENGRAM_URL` (the server) and
`ENGRAM_CLIENT_DIR` (the folder holding the generated `engram_client` package) set.
"""

import os
import sys
import uuid

sys.path.insert(0, os.environ["ENGRAM_CLIENT_DIR"])

from engram_client import Client  # noqa: E402
from engram_client.api.episodes import (  # noqa: E402
    end_episode,
    get_episode,
    record_event,
    recall_episodes,
    start_episode,
)
from engram_client.api.memory import recall_errors, store_error  # noqa: E402
from engram_client.models import (  # noqa: E402
    EndRequest,
    EpisodeLog,
    EpisodeRecallRequest,
    ErrorRequest,
    EventRequest,
    RecallRequest,
    StartRequest,
    Started,
    Stored,
)


def client() -> Client:
    return Client(base_url=os.environ["ENGRAM_URL"], timeout=120.0)


def test_store_and_recall_an_error_resolution() -> None:
    c = client()
    run = uuid.uuid4().hex[:8]
    # Not the OpenAPI example's module (fastapi): the schemathesis stage before this test
    # stores that example many times into the same store, and a proven record that similar
    # may rightly rank above a new one.
    message = f"ModuleNotFoundError: No module named 'ci_probe_{run}'"
    first = store_error.sync(
        client=c,
        body=ErrorRequest(message=message, resolution=f"pip install ci_probe_{run}"),
        idempotency_key=f"{run}-store",
    )
    assert isinstance(first, Stored), first
    assert first.created and first.seen_count == 1
    retried = store_error.sync(
        client=c,
        body=ErrorRequest(message=message, resolution=f"pip install ci_probe_{run}"),
        idempotency_key=f"{run}-store",
    )
    assert isinstance(retried, Stored) and retried.seen_count == 1, "a retry counts once"
    found = recall_errors.sync(client=c, body=RecallRequest(query=message, limit=3))
    assert isinstance(found, list) and found, found
    assert found[0].record.resolution == f"pip install ci_probe_{run}"
    assert found[0].record.seen_count == 1


def test_the_episode_lifecycle() -> None:
    c = client()
    started = start_episode.sync(
        client=c, body=StartRequest(task="implement a REST API for todo items")
    )
    assert isinstance(started, Started), started
    episode_id = str(started.id)
    for n, kind in enumerate(["generate", "test"]):
        recorded = record_event.sync(
            id=episode_id,
            client=c,
            body=EventRequest(event_type=kind, agent_role="coder"),
        )
        assert recorded.sequence == n
    ended = end_episode.sync(id=episode_id, client=c, body=EndRequest(success=True))
    assert ended.status.value == "succeeded"
    assert ended.event_count == 2
    log = get_episode.sync(id=episode_id, client=c)
    assert isinstance(log, EpisodeLog)
    assert [e.seq for e in log.events] == [0, 1]
    similar = recall_episodes.sync(
        client=c, body=EpisodeRecallRequest(task="build a REST API", limit=5)
    )
    assert any(str(r.id) == episode_id for r in similar)
