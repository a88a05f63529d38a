"""Loaded by schemathesis (SCHEMATHESIS_HOOKS in .ci/contract) before it runs.

CPython 3.11 keeps the AST constructor's recursion depth in state that all threads share,
so two threads that call ast.parse at once can fail with "SystemError: AST constructor
recursion depth mismatch" (CPython issue gh-106905, fixed in 3.12). Hypothesis parses a
module's source the first time it describes one of its lambdas, and schemathesis runs with
two worker threads, so whether a run hits this depends on which operations meet first.
Parsing one source at a time removes the race; nothing about the checks changes.
"""

import ast
import threading

_lock = threading.Lock()
_parse = ast.parse


def _parse_one_at_a_time(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


ast.parse = _parse_one_at_a_time
