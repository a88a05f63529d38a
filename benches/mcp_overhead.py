"""What an MCP tool call costs over the plain HTTP route it makes, side by side in one run.

Starts `engram serve` on a fresh data directory, stores 200 error resolutions, then times the
same recall three ways, interleaved round by round so that machine noise hits all alike:
  http  - POST /v1/errors/recall with httpx2 (one kept-alive connection)
  mcp   - the `recall` tool over Streamable HTTP at /mcp (one session)
  stdio - the `recall` tool over `engram mcp` beside the server (one session)
Prints p50/p99 per way and the ratios. Needs the `mcp` package (the venv `.ci/mcp` makes):

    target/mcp-venv/bin/python benches/mcp_overhead.py [--rounds 500] [--engram target/release/engram]
"""

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

import anyio
import httpx2
from mcp import Client, StdioServerParameters


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--engram", default="target/release/engram")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="engram-mcp-bench-") as data_dir:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, ENGRAM_DATA_DIR=data_dir, ENGRAM_LOG="engram=warn")
        server = subprocess.Popen([args.engram, "serve", "--listen", f"127.0.0.1:{port}"], env=env)
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen(f"{url}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
                for i in range(200):
                    answer = await http.post("/v1/errors", json={
                        "message": f"ConnectionRefusedError: [Errno 111] service-{i} refused the connection",
                        "resolution": f"start service-{i} before its clients",
                    })
                    answer.raise_for_status()
                query = {"query": "the queue service refused my connection", "limit": 5}
                stdio = StdioServerParameters(command=args.engram, args=["mcp"], env={"ENGRAM_DATA_DIR": data_dir})
                timings = {"http": [], "mcp": [], "stdio": []}
                async with Client(f"{url}/mcp") as mcp, Client(stdio) as piped:
                    tool = {"kind": "errors", **query}

                    async def via_http():
                        (await http.post("/v1/errors/recall", json=query)).raise_for_status()

                    async def via_mcp():
                        assert not (await mcp.call_tool("recall", tool)).is_error

                    async def via_stdio():
                        assert not (await piped.call_tool("recall", tool)).is_error

                    ways = {"http": via_http, "mcp": via_mcp, "stdio": via_stdio}
                    for _ in range(20):  # warm-up
                        for call in ways.values():
                            await call()
                    for _ in range(args.rounds):
                        for name, call in ways.items():
                            start = time.perf_counter()
                            await call()
                            timings[name].append((time.perf_counter() - start) * 1000)
        finally:
            server.terminate()
            server.wait(timeout=30)
    base50 = statistics.median(timings["http"])
    base99 = percentile(timings["http"], 99)
    print(f"{args.rounds} rounds, recall of 5 among 200 error resolutions")
    print(f"{'way':<6} {'p50 ms':>8} {'p99 ms':>8} {'p50 / http':>11} {'p99 / http':>11}")
    for name, values in timings.items():
        p50, p99 = statistics.median(values), percentile(values, 99)
        print(f"{name:<6} {p50:8.2f} {p99:8.2f} {p50 / base50:11.2f} {p99 / base99:11.2f}")


if __name__ == "__main__":
    anyio.run(main)
