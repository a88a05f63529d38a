"""A live `engram serve` for the client's tests: a free port, a fresh data directory, an
admin key and a key bound to agent `alpha`. Needs ENGRAM_BIN (the engram binary) and the
model installed; `.ci/python-client` sets both up."""

import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ENGRAM = os.environ.get("ENGRAM_BIN", "target/debug/engram")
ADMIN = "client-admin-key-0123456789abcdef"
ALPHA = "client-alpha-key-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir, port, keys=True, config=None):
    env = dict(os.environ, ENGRAM_DATA_DIR=data_dir, ENGRAM_LOG="engram=warn")
    if config is not None:
        path = os.path.join(data_dir, "engram.toml")
        with open(path, "w") as file:
            file.write(config)
        env["ENGRAM_CONFIG"] = path
    env["ENGRAM_API_KEYS"] = ADMIN if keys else ""
    env["ENGRAM_AGENT_KEYS"] = f"alpha={ALPHA}" if keys else ""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [ENGRAM, "serve", "--listen", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    return process, log


def wait_up(url, process, log):
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError(f"engram serve did not start: {log.read().decode()}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def server():
    yield from serving()


@pytest.fixture(scope="module")
def quota_server():
    """A server whose agents may own two records each."""
    yield from serving("[quotas]\nentries_per_agent = 2\n")


def serving(config=None):
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        process, log = start(data, port, config=config)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_up(url, process, log)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
