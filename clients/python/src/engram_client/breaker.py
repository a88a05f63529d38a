"""The client's circuit breaker: after `threshold` consecutive failures (no answer, or a 5xx)
it opens and calls fail fast with CircuitOpen for `cooldown` seconds; then one call is let
through and its outcome closes or reopens it (Nygard, "Release It!", the circuit breaker
pattern). Shared by every call of one client, thread-safe."""

import threading
import time
from typing import Any, Dict, Optional

from .errors import CircuitOpen


class CircuitBreaker:
    def __init__(self, threshold: int = 5, cooldown: float = 10.0) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if cooldown < 0:
            raise ValueError("cooldown must be at least 0 seconds")
        self.threshold = threshold
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: Optional[float] = None
        self._last_error: Optional[str] = None

    def check(self) -> None:
        """Raises CircuitOpen while open; lets one trial call through after the cool-down."""
        with self._lock:
            if self._open_until is None:
                return
            now = time.monotonic()
            if now < self._open_until:
                raise CircuitOpen(
                    f"circuit open after {self._failures} consecutive failures "
                    f"(last: {self._last_error}); retry in {self._open_until - now:.1f} s",
                    code="circuit_open",
                )
            # Half-open: this call is the trial; others wait for its outcome.
            self._open_until = now + self.cooldown

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = None
            self._last_error = None

    def failure(self, error: str) -> None:
        with self._lock:
            self._failures += 1
            self._last_error = error
            if self._failures >= self.threshold:
                self._open_until = time.monotonic() + self.cooldown

    def reset(self) -> None:
        self.success()

    def status(self) -> Dict[str, Any]:
        with self._lock:
            open_ = self._open_until is not None and time.monotonic() < self._open_until
            return {
                "state": "open" if open_ else "closed",
                "consecutive_failures": self._failures,
                "last_error": self._last_error,
                "threshold": self.threshold,
                "cooldown_seconds": self.cooldown,
            }
