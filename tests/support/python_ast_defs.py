"""Reference for the extractor's Python parity test: what Python's own `ast` module finds.

Reads a JSON object mapping code snippets to their index (the CoSQA corpus format) and writes
one JSON line per snippet: {"index": i, "parsed": bool, "defs": [[kind, name, line], ...]}
with kind "function", "method" (a function directly in a class body) or "class", and line
the 1-based line of `def` / `class` (decorators excluded), in source order.
"""

import ast
import json
import sys
import warnings


def definitions(tree):
    found = []

    def visit(node, parent):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kind = "method" if isinstance(parent, ast.ClassDef) else "function"
            found.append([kind, node.name, node.lineno])
        elif isinstance(node, ast.ClassDef):
            found.append(["class", node.name, node.lineno])
        for child in ast.iter_child_nodes(node):
            visit(child, node)

    visit(tree, None)
    found.sort(key=lambda d: (d[2], d[0], d[1]))
    return found


def main(path):
    with open(path, encoding="utf-8") as handle:
        corpus = json.load(handle)
    out = sys.stdout
    for code, index in corpus.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(code)
        except (SyntaxError, ValueError):
            out.write(json.dumps({"index": index, "parsed": False, "defs": []}) + "\n")
            continue
        out.write(json.dumps({"index": index, "parsed": True, "defs": definitions(tree)}) + "\n")


if __name__ == "__main__":
    sys.setrecursionlimit(100000)
    main(sys.argv[1])
