"""MemoryClient and AsyncMemoryClient: the memory-orchestration note's client API over
engram's HTTP API (`/v1/memories`, `/v1/sessions`, `/v1/groups`, `/v1/circuit-breaker`).

Every method has the note's name and arguments and answers the decoded JSON of engram's
answer (a dict, or a list for searches and listings). Errors raise the exceptions of
`engram_client.errors`, each with the API's error code.

Retries (tenacity): an answer 429 / 503 (the server or its store cannot take the request
now) and a connection that could not be made are retried with exponential backoff and
jitter (0.1 s doubling, at most 2 s); a connection that broke after the request was sent is
retried only for requests that are safe to repeat: reads, and writes sent with an
Idempotency-Key (every create, batch and reinforcement the client sends carries one, the
same on every attempt, so a retry counts once). Updates and deletes are not retried after a
broken connection: repeating them could answer a spurious 409 / 404.
"""

import uuid
from typing import Any, Callable, Dict, List, Optional

import httpx
from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from .breaker import CircuitBreaker
from .errors import (
    ConnectionFailed,
    EngramError,
    Overloaded,
    ServerError,
    from_response,
)

DEFAULT_URL = "http://127.0.0.1:7437"


class _Request:
    """One API call, as both clients send it."""

    def __init__(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Optional[Dict[str, Any]] = None,
        idempotent: bool = False,
        key: bool = False,
    ) -> None:
        self.method = method
        self.path = path
        self.json = json
        self.params = {k: v for k, v in (params or {}).items() if v is not None}
        self.headers = {"Idempotency-Key": str(uuid.uuid4())} if key else {}
        self.idempotent = idempotent or key or method == "GET"


def _retryable(request: _Request) -> Callable[[BaseException], bool]:
    def check(error: BaseException) -> bool:
        if isinstance(error, Overloaded):
            return True
        if isinstance(error, ConnectionFailed):
            return error.details.get("connect", False) or request.idempotent
        return False

    return check


def _bool(value: bool) -> str:
    return "true" if value else "false"


class _Api:
    """The note's methods; `_call` sends a request (and is async in the async client)."""

    agent_id: Optional[str]
    session_id: Optional[str]

    def _call(self, request: _Request) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    # Identity management
    def set_agent_id(self, agent_id: Optional[str]) -> None:
        """The agent new memories belong to (a key bound to an agent is that agent)."""
        self.agent_id = agent_id

    def set_session_id(self, session_id: Optional[str]) -> None:
        """The session new memories are made in."""
        self.session_id = session_id

    # Session management
    def create_session(
        self,
        user_id: str,
        session_type: str = "conversation",
        session_metadata: Optional[Dict[str, Any]] = None,
    ):
        body = {"user_id": user_id, "session_type": session_type}
        if session_metadata is not None:
            body["session_metadata"] = session_metadata
        return self._call(_Request("POST", "/v1/sessions", body, key=True))

    def get_session(self, session_id: str):
        return self._call(_Request("GET", f"/v1/sessions/{session_id}"))

    def end_session(self, session_id: str):
        return self._call(_Request("POST", f"/v1/sessions/{session_id}/end", idempotent=True))

    def list_sessions(
        self, user_id: Optional[str] = None, active: bool = False, limit: int = 100
    ):
        params = {"user_id": user_id, "active": _bool(active), "limit": limit}
        return self._call(_Request("GET", "/v1/sessions", params=params))

    # Memory operations
    def _memory_body(
        self,
        content: str,
        memory_type: str = "general",
        memory_tier: str = "short",
        importance: float = 0.5,
        metadata: Optional[Dict[str, Any]] = None,
        tags: Optional[List[str]] = None,
        parent_id: Optional[str] = None,
    ) -> Dict[str, Any]:
        body: Dict[str, Any] = {
            "content": content,
            "memory_type": memory_type,
            "memory_tier": memory_tier,
            "importance": importance,
            "metadata": metadata or {},
            "tags": tags or [],
        }
        if parent_id is not None:
            body["parent_id"] = parent_id
        if self.session_id is not None:
            body["session_id"] = self.session_id
        if self.agent_id is not None:
            body["agent_id"] = self.agent_id
        return body

    def add_memory(
        self,
        content: str,
        memory_type: str = "general",
        memory_tier: str = "short",
        importance: float = 0.5,
        metadata: Optional[Dict[str, Any]] = None,
        tags: Optional[List[str]] = None,
        parent_id: Optional[str] = None,
    ):
        body = self._memory_body(
            content, memory_type, memory_tier, importance, metadata, tags, parent_id
        )
        return self._call(_Request("POST", "/v1/memories", body, key=True))

    def get_memory(self, memory_id: str):
        return self._call(_Request("GET", f"/v1/memories/{memory_id}"))

    def get_memory_history(self, memory_id: str):
        return self._call(_Request("GET", f"/v1/memories/{memory_id}/history"))

    def search_memory(
        self,
        query: str,
        memory_type: Optional[str] = None,
        limit: int = 10,
        parent_id: Optional[str] = None,
    ):
        body: Dict[str, Any] = {"query": query, "limit": limit}
        if memory_type is not None:
            body["memory_type"] = memory_type
        if parent_id is not None:
            body["parent_id"] = parent_id
        return self._call(_Request("POST", "/v1/memories/search", body, idempotent=True))

    def semantic_search(
        self, query: str, k: int = 5, filters: Optional[Dict[str, Any]] = None
    ):
        body = {"query": query, "k": k, "filters": filters or {}}
        return self._call(
            _Request("POST", "/v1/memories/semantic-search", body, idempotent=True)
        )

    def update_memory(self, memory_id: str, update_payload: Dict[str, Any]):
        """A new version; `expected_version` in the payload makes it a compare-and-set
        (Conflict, with `current_version`, when another writer got there first)."""
        return self._call(_Request("PATCH", f"/v1/memories/{memory_id}", update_payload))

    def delete_memory(self, memory_id: str, cascade: bool = True):
        params = {"cascade": _bool(cascade)}
        return self._call(_Request("DELETE", f"/v1/memories/{memory_id}", params=params))

    def get_children(
        self,
        parent_id: str,
        limit: int = 50,
        sort_field: str = "created_at",
        sort_order: str = "desc",
    ):
        params = {"limit": limit, "sort_field": sort_field, "sort_order": sort_order}
        return self._call(
            _Request("GET", f"/v1/memories/{parent_id}/children", params=params)
        )

    # Relationships
    def add_relationship(
        self,
        source_id: str,
        target_id: str,
        relationship_type: str,
        strength: float = 1.0,
    ):
        body = {
            "target_id": target_id,
            "relationship_type": relationship_type,
            "strength": strength,
        }
        # One relationship per (source, target, type): repeating it changes nothing.
        return self._call(
            _Request(
                "POST", f"/v1/memories/{source_id}/relationships", body, idempotent=True
            )
        )

    def get_related_memories(
        self, memory_id: str, relationship_type: Optional[str] = None
    ):
        params = {"relationship_type": relationship_type}
        return self._call(
            _Request("GET", f"/v1/memories/{memory_id}/related", params=params)
        )

    # Memory reinforcement
    def reinforce_memory(self, memory_id: str, reinforcement_factor: float = 1.2):
        body = {"reinforcement_factor": reinforcement_factor}
        return self._call(
            _Request("POST", f"/v1/memories/{memory_id}/reinforce", body, key=True)
        )

    # Batch operations
    def batch_add_memories(self, memories: List[Dict[str, Any]]):
        """Each item takes `add_memory`'s arguments as keys; the client's session and agent
        fill in where an item has none. One result per item, in order."""
        items = []
        for item in memories:
            item = dict(item)
            if self.session_id is not None:
                item.setdefault("session_id", self.session_id)
            if self.agent_id is not None:
                item.setdefault("agent_id", self.agent_id)
            items.append(item)
        return self._call(
            _Request("POST", "/v1/memories/batch", {"memories": items}, key=True)
        )

    def batch_get_memories(self, memory_ids: List[str]):
        body = {"memory_ids": list(memory_ids)}
        return self._call(
            _Request("POST", "/v1/memories/batch-get", body, idempotent=True)
        )

    # Context groups
    def create_context_group(self, name: str, description: Optional[str] = None):
        body = {"name": name, "description": description}
        return self._call(_Request("POST", "/v1/groups", body, key=True))

    def add_to_group(self, memory_id: str, group_id: str):
        body = {"memory_id": memory_id}
        return self._call(
            _Request("POST", f"/v1/groups/{group_id}/members", body, idempotent=True)
        )

    def get_memories_by_group(self, group_id: str):
        return self._call(_Request("GET", f"/v1/groups/{group_id}/members"))


def _client_kwargs(api_key: Optional[str], timeout: float) -> Dict[str, Any]:
    headers = {"User-Agent": "engram-client-python/0.1.0"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return {"headers": headers, "timeout": timeout}


def _answer(response: httpx.Response) -> Any:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        raise from_response(response.status_code, body)
    return body


def _transport_error(error: httpx.TransportError) -> ConnectionFailed:
    connect = isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout))
    return ConnectionFailed(
        f"{type(error).__name__}: {error}",
        code="connection_failed",
        details={"connect": connect},
    )


class _Resilience:
    """What both clients share: the retry policy and the breaker."""

    def __init__(
        self,
        base_url: str,
        agent_id: Optional[str],
        session_id: Optional[str],
        retries: int,
        breaker_threshold: int,
        breaker_cooldown: float,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be at least 0")
        self.base_url = base_url.rstrip("/")
        self.agent_id = agent_id
        self.session_id = session_id
        self.retries = retries
        self.breaker = CircuitBreaker(breaker_threshold, breaker_cooldown)

    def _retry_args(self, request: _Request) -> Dict[str, Any]:
        return {
            "retry": retry_if_exception(_retryable(request)),
            "stop": stop_after_attempt(self.retries + 1),
            # 0.1 s doubling up to 2 s, plus up to 0.1 s of jitter so that many clients
            # do not retry in lockstep.
            "wait": wait_exponential(multiplier=0.1, max=2.0) + wait_random(0, 0.1),
            "reraise": True,
        }

    def _record(self, error: Optional[EngramError]) -> None:
        if error is None:
            self.breaker.success()
        elif isinstance(error, (ConnectionFailed, ServerError, Overloaded)):
            self.breaker.failure(f"{error.code}: {error.message}")
        else:
            # The server answered: it is reachable and working.
            self.breaker.success()


class MemoryClient(_Resilience, _Api):
    """The blocking client. `api_key` is one of the server's keys (none on a loopback
    server without keys); `retries` extra attempts per call (default 3); the breaker opens
    after `breaker_threshold` consecutive failures for `breaker_cooldown` seconds."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: Optional[str] = None,
        agent_id: Optional[str] = None,
        session_id: Optional[str] = None,
        timeout: float = 30.0,
        retries: int = 3,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 10.0,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        _Resilience.__init__(
            self, base_url, agent_id, session_id, retries, breaker_threshold, breaker_cooldown
        )
        self._http = httpx.Client(
            base_url=self.base_url, transport=transport, **_client_kwargs(api_key, timeout)
        )

    def _once(self, request: _Request) -> Any:
        self.breaker.check()
        try:
            response = self._http.request(
                request.method,
                request.path,
                json=request.json,
                params=request.params,
                headers=request.headers,
            )
            result = _answer(response)
        except httpx.TransportError as error:
            failure = _transport_error(error)
            self._record(failure)
            raise failure from error
        except EngramError as error:
            self._record(error)
            raise
        self._record(None)
        return result

    def _call(self, request: _Request) -> Any:
        for attempt in Retrying(**self._retry_args(request)):
            with attempt:
                return self._once(request)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    # Circuit breaker management
    def get_circuit_breaker_status(self) -> Dict[str, Any]:
        """The client's breaker and the server's (the store connection's)."""
        return {
            "client": self.breaker.status(),
            "server": self._call(_Request("GET", "/v1/circuit-breaker")),
        }

    def reset_circuit_breaker(self) -> Dict[str, Any]:
        """Closes the client's breaker and the server's (the latter needs an admin key)."""
        self.breaker.reset()
        return {
            "client": self.breaker.status(),
            "server": self._call(_Request("POST", "/v1/circuit-breaker/reset", idempotent=True)),
        }

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "MemoryClient":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class AsyncMemoryClient(_Resilience, _Api):
    """The asyncio client: the same methods as MemoryClient, each a coroutine."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: Optional[str] = None,
        agent_id: Optional[str] = None,
        session_id: Optional[str] = None,
        timeout: float = 30.0,
        retries: int = 3,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 10.0,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        _Resilience.__init__(
            self, base_url, agent_id, session_id, retries, breaker_threshold, breaker_cooldown
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url, transport=transport, **_client_kwargs(api_key, timeout)
        )

    async def _once(self, request: _Request) -> Any:
        self.breaker.check()
        try:
            response = await self._http.request(
                request.method,
                request.path,
                json=request.json,
                params=request.params,
                headers=request.headers,
            )
            result = _answer(response)
        except httpx.TransportError as error:
            failure = _transport_error(error)
            self._record(failure)
            raise failure from error
        except EngramError as error:
            self._record(error)
            raise
        self._record(None)
        return result

    async def _call(self, request: _Request) -> Any:
        async for attempt in AsyncRetrying(**self._retry_args(request)):
            with attempt:
                return await self._once(request)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def get_circuit_breaker_status(self) -> Dict[str, Any]:
        return {
            "client": self.breaker.status(),
            "server": await self._call(_Request("GET", "/v1/circuit-breaker")),
        }

    async def reset_circuit_breaker(self) -> Dict[str, Any]:
        self.breaker.reset()
        server = await self._call(
            _Request("POST", "/v1/circuit-breaker/reset", idempotent=True)
        )
        return {"client": self.breaker.status(), "server": server}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncMemoryClient":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()
