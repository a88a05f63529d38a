"""Would int8 products keep all-MiniLM-L6-v2's vectors within cosine 0.999 of the reference?

The throughput issue allows int8 products on CPUs without AVX-512 "where it keeps cosine
>= 0.999 with sentence-transformers on the reference texts". This script answers that
before any kernel is written: it runs sentence-transformers (PyTorch, fp32) on the 40
reference texts of ../shared/fixtures/minilm-reference.jsonl with every linear layer's
input and weight rounded to integers the way an int8 kernel would see them (quantize, then
dequantize: the same products as integer arithmetic times the scales), and prints the
lowest and mean cosine with the reference vectors for each scheme:

- activations per token (one scale per row, symmetric or with a zero point), weights per
  output channel: the usual dynamic quantization;
- 7-bit variants: AVX2 without VNNI multiplies bytes with `vpmaddubsw`, which saturates at
  16 bits unless one operand has at most 7 bits (2 x 255 x 127 > 32,767);
- blocks of 32 or 64 along the inner dimension, each with its own scale (finer, slower).

Run it with the reference embedder's environment (torch + sentence-transformers), e.g. the
one ../shared/tools/st-baseline creates; not part of CI:

    $ST_BASELINE_HOME/venv/bin/python benches/int8_cosine.py MODEL_DIR

MODEL_DIR is the all-MiniLM-L6-v2 folder `engram model info` shows.
"""

import json
import sys

import torch
from sentence_transformers import SentenceTransformer

FIXTURE = "../shared/fixtures/minilm-reference.jsonl"


def per_row(x, bits, zero_point):
    """Rounds each row of x to 2^bits levels: symmetric, or between its min and max."""
    if zero_point:
        lo, hi = x.amin(-1, keepdim=True), x.amax(-1, keepdim=True)
        levels = 2**bits - 1
        scale = (hi - lo).clamp(min=1e-12) / levels
        return torch.round((x - lo) / scale).clamp(0, levels) * scale + lo
    top = 2 ** (bits - 1) - 1
    scale = x.abs().amax(-1, keepdim=True).clamp(min=1e-12) / top
    return torch.round(x / scale).clamp(-top, top) * scale


def per_block(x, bits, block):
    """Symmetric rounding with one scale per `block` consecutive values of each row."""
    shape = x.shape
    blocks = x.reshape(*shape[:-1], shape[-1] // block, block)
    return per_row(blocks, bits, False).reshape(shape)


def main(model_dir):
    rows = [json.loads(line) for line in open(FIXTURE, encoding="utf-8")]
    texts = [r["text"] for r in rows]
    reference = torch.tensor([r["embedding"] for r in rows])
    model = SentenceTransformer(model_dir, device="cpu")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]

    def lowest_and_mean(round_input, round_weight):
        originals = [layer.forward for layer in linears]
        for layer in linears:
            weight = round_weight(layer.weight.data)

            def forward(x, weight=weight, bias=layer.bias):
                return torch.nn.functional.linear(round_input(x), weight, bias)

            layer.forward = forward
        try:
            vectors = model.encode(texts, normalize_embeddings=True, convert_to_tensor=True)
        finally:
            for layer, original in zip(linears, originals):
                layer.forward = original
        cosine = (vectors * reference).sum(-1)
        return cosine.min().item(), cosine.mean().item()

    schemes = [
        ("fp32 (no rounding)", lambda x: x, lambda w: w),
        ("int8 per token / int8 per channel", lambda x: per_row(x, 8, False), lambda w: per_row(w, 8, False)),
        ("uint8 per token, zero point / int8 per channel", lambda x: per_row(x, 8, True), lambda w: per_row(w, 8, False)),
        ("int7 per token / int8 per channel (vpmaddubsw-safe)", lambda x: per_row(x, 7, False), lambda w: per_row(w, 8, False)),
        ("uint8 per token, zero point / int7 per channel (vpmaddubsw-safe)", lambda x: per_row(x, 8, True), lambda w: per_row(w, 7, False)),
        ("int8 / int8, blocks of 64", lambda x: per_block(x, 8, 64), lambda w: per_block(w, 8, 64)),
        ("int8 / int8, blocks of 32", lambda x: per_block(x, 8, 32), lambda w: per_block(w, 8, 32)),
        ("int7 / int8, blocks of 32 (vpmaddubsw-safe)", lambda x: per_block(x, 7, 32), lambda w: per_block(w, 8, 32)),
    ]
    print(f"{'scheme':<66} {'lowest cosine':>13} {'mean':>9}")
    for name, round_input, round_weight in schemes:
        lowest, mean = lowest_and_mean(round_input, round_weight)
        print(f"{name:<66} {lowest:>13.5f} {mean:>9.5f}")


if __name__ == "__main__":
    main(sys.argv[1])
