"""engram's Python client: MemoryClient / AsyncMemoryClient for general memory,
SwarmMemoryManager for swarm memory."""

from .breaker import CircuitBreaker
from .client import DEFAULT_URL, AsyncMemoryClient, MemoryClient
from .errors import (
    CircuitOpen,
    Conflict,
    ConnectionFailed,
    EngramError,
    Forbidden,
    InvalidRequest,
    NotFound,
    Overloaded,
    QuotaExceeded,
    ServerError,
    Unauthorized,
)
from .swarm import SwarmMemoryManager

__all__ = [
    "DEFAULT_URL",
    "AsyncMemoryClient",
    "CircuitBreaker",
    "CircuitOpen",
    "Conflict",
    "ConnectionFailed",
    "EngramError",
    "Forbidden",
    "InvalidRequest",
    "MemoryClient",
    "NotFound",
    "Overloaded",
    "QuotaExceeded",
    "ServerError",
    "SwarmMemoryManager",
    "Unauthorized",
]
