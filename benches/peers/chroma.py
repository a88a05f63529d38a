"""Chroma on the vectors engram's store bench searches: the CoSQA functions and queries.

Reads target/peers/cosqa-vectors.json (written by `cargo bench --bench store`), ingests the
functions into a persistent Chroma collection in a temporary folder (cosine space, batches
of 100, each with its `bucket` as metadata), then searches the top 10 of every query once
without a filter and once with `where={"bucket": query_number % buckets}`, and scores
recall@10 against an exact search of the same vectors (numpy). Prints inserts/s, p50 / p99
latency and recall@10, in the same shape as the store bench's CoSQA table.

Run it through benches/peers/run-chroma.sh, which makes its own venv (not part of CI).
"""

import json
import sys
import tempfile
import time

import chromadb
import numpy as np


def percentile(values, p):
    ordered = sorted(values)
    return ordered[int((len(ordered) - 1) * p)]


def exact_top10(functions, query, buckets, bucket):
    scores = functions @ query
    if bucket is not None:
        mask = np.arange(len(functions)) % buckets != bucket
        scores = np.where(mask, -np.inf, scores)
    return set(np.argsort(-scores, kind="stable")[:10].tolist())


def main(path):
    with open(path) as f:
        data = json.load(f)
    buckets = data["buckets"]
    functions = np.asarray(data["functions"], dtype=np.float32)
    queries = np.asarray(data["queries"], dtype=np.float32)
    print(
        f"chromadb {chromadb.__version__}: {len(functions)} functions, "
        f"{len(queries)} queries, {functions.shape[1]} dimensions"
    )

    with tempfile.TemporaryDirectory() as folder:
        client = chromadb.PersistentClient(path=folder)
        collection = client.create_collection(
            "cosqa", metadata={"hnsw:space": "cosine"}
        )
        started = time.perf_counter()
        for first in range(0, len(functions), 100):
            batch = range(first, min(first + 100, len(functions)))
            collection.add(
                ids=[str(n) for n in batch],
                embeddings=functions[first : first + len(batch)].tolist(),
                metadatas=[{"bucket": n % buckets} for n in batch],
            )
        inserts = len(functions) / (time.perf_counter() - started)

        print(
            f"{'search':>10}  {'p50 / p99':>21}  {'recall@10':>9}   "
            f"(inserts: {inserts:.0f} points/s, batches of 100)"
        )
        for filtered in (False, True):
            wheres = [
                {"bucket": q % buckets} if filtered else None for q in range(len(queries))
            ]
            # The searches back to back, then the exact answers: an exact search between two
            # timed ones would evict the collection's vectors from the caches.
            latencies = []
            answers = []
            for query, where in zip(queries, wheres):
                started = time.perf_counter()
                result = collection.query(
                    query_embeddings=[query.tolist()], n_results=10, where=where
                )
                latencies.append((time.perf_counter() - started) * 1e3)
                answers.append({int(i) for i in result["ids"][0]})
            found = 0
            for q, (query, hits) in enumerate(zip(queries, answers)):
                bucket = q % buckets if filtered else None
                found += len(hits & exact_top10(functions, query, buckets, bucket))
            print(
                f"{'filtered' if filtered else 'unfiltered':>10}  "
                f"{percentile(latencies, 0.5):>8.3f} / {percentile(latencies, 0.99):>7.3f} ms  "
                f"{found / (10 * len(queries)):>9.3f}"
            )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/peers/cosqa-vectors.json")
