"""Which of all-MiniLM-L6-v2's linear layers can the int8 path round and keep cosine >= 0.999?

`int8_cosine.py` rounds every linear layer and finds no scheme that keeps cosine >= 0.999
with sentence-transformers on the 40 reference texts. This script rounds chosen layers
only. Its first table rounds them as engram's int8 path did until 2026-12-03
(`src/embed/kernels/int8_avx2.rs`): weights to 8 bits per output channel, inputs to 7
bits (8 with VNNI, for comparison) per block of 32, after SmoothQuant factors estimated
from the layer norm before the product
(`Norm::smoothing` in `src/embed/bert.rs`: s_j = sqrt((3|gamma_j| + |beta_j|) / max_n |w_nj|));
products that follow no norm (attention's output projection, the feed-forward
down-projection) are rounded without smoothing. It prints the lowest and mean cosine over
the texts for each choice. The second table rounds the way engram's int8 path does since
2026-12-03: weight scales per output channel and block of 32 inputs (not per whole channel),
and each sequence's first and last token ([CLS], [SEP]) rounded twice, the row and then
what that rounding left, so their inputs keep about 14 bits
(`Linear::forward_with_residual_rows`; until the evening of 2026-12-03 these two rows were
computed unrounded, from f32 weights: lowest 0.99953); its last row, every layer, is what
the path runs. The choices:

- up: the feed-forward up-projection (intermediate.dense);
- out: attention's output projection (attention.output.dense);
- qkv: the query, key and value projections (smoothed by the norm before the layer);
- qk: the query and key projections only (smoothed by that norm, from their own weights);
- k: the key projection only (smoothed by that norm, from its own weights);
- v: the value projection only (smoothed by that norm);
- down: the feed-forward down-projection (output.dense).

Run it with the reference embedder's environment (torch + sentence-transformers), e.g. the
one ../shared/tools/st-baseline creates; not part of CI:

    $ST_BASELINE_HOME/venv/bin/python benches/int8_layers.py MODEL_DIR
"""

import json
import sys

import torch
from sentence_transformers import SentenceTransformer

FIXTURE = "../shared/fixtures/minilm-reference.jsonl"


def per_row(x, bits):
    """Symmetric rounding of each row of x to 2^(bits-1) - 1 levels either side of zero."""
    top = 2 ** (bits - 1) - 1
    scale = x.abs().amax(-1, keepdim=True).clamp(min=1e-12) / top
    return torch.round(x / scale).clamp(-top, top) * scale


def per_block(x, bits, block=32):
    """Symmetric rounding with one scale per `block` consecutive values of each row."""
    shape = x.shape
    return per_row(x.reshape(*shape[:-1], shape[-1] // block, block), bits).reshape(shape)


def smoothing(norm, weight):
    """engram's SmoothQuant factors for a product after `norm` with weight `weight` (n x k)."""
    g, b = norm.weight.data, norm.bias.data
    largest = weight.abs().amax(0)
    return ((3 * g.abs() + b.abs()).clamp(min=1e-5) / largest.clamp(min=1e-5)).sqrt()


def main(model_dir):
    rows = [json.loads(line) for line in open(FIXTURE, encoding="utf-8")]
    texts = [r["text"] for r in rows]
    reference = torch.tensor([r["embedding"] for r in rows])
    model = SentenceTransformer(model_dir, device="cpu")
    bert = model[0].auto_model

    special = torch.tensor([model.tokenizer.cls_token_id, model.tokenizer.sep_token_id])
    ids = {}
    bert.embeddings.word_embeddings.register_forward_pre_hook(
        lambda module, args: ids.update(current=args[0]))

    def rounded(layer, factors, input_bits, engram):
        if engram:
            weight = per_block(layer.weight.data * factors, 8)
        else:
            weight = per_row(layer.weight.data * factors, 8)

        def forward(x):
            y = torch.nn.functional.linear(per_block(x / factors, input_bits), weight, layer.bias)
            if engram:
                # [CLS] and [SEP] rounded twice: the row, then what that rounding left.
                smoothed = x / factors
                first = per_block(smoothed, input_bits)
                twice = first + per_block(smoothed - first, input_bits)
                refined = torch.nn.functional.linear(twice, weight, layer.bias)
                keep = torch.isin(ids["current"], special).unsqueeze(-1)
                y = torch.where(keep, refined, y)
            return y

        return forward

    def lowest_and_mean(choice, input_bits, engram=False):
        patched = []
        for i, layer in enumerate(bert.encoder.layer):
            before = bert.embeddings.LayerNorm if i == 0 else bert.encoder.layer[i - 1].output.LayerNorm
            attention = layer.attention
            qkv = [attention.self.query, attention.self.key, attention.self.value]
            ones = torch.ones(layer.attention.output.dense.weight.shape[1])
            targets = {
                "up": [(layer.intermediate.dense,
                        smoothing(attention.output.LayerNorm, layer.intermediate.dense.weight.data))],
                "out": [(attention.output.dense, ones)],
                "qkv": [(l, smoothing(before, torch.cat([q.weight.data for q in qkv]))) for l in qkv],
                "qk": [(l, smoothing(before, torch.cat([q.weight.data for q in qkv[:2]])))
                       for l in qkv[:2]],
                "k": [(qkv[1], smoothing(before, qkv[1].weight.data))],
                "v": [(qkv[2], smoothing(before, torch.cat([q.weight.data for q in qkv])))],
                "down": [(layer.output.dense, torch.ones(layer.output.dense.weight.shape[1]))],
            }
            for name in choice:
                for linear, factors in targets[name]:
                    patched.append((linear, linear.forward))
                    linear.forward = rounded(linear, factors, input_bits, engram)
        try:
            vectors = model.encode(texts, normalize_embeddings=True, convert_to_tensor=True)
        finally:
            for linear, forward in patched:
                linear.forward = forward
        cosine = (vectors * reference).sum(-1)
        return cosine.min().item(), cosine.mean().item()

    print(f"{'inputs':<7} {'layers in int8':<16} {'lowest cosine':>13} {'mean':>9}")
    for input_bits in (7, 8):
        for choice in (["up"], ["up", "out"], ["qkv"], ["up", "qkv"], ["up", "out", "qkv"],
                       ["up", "out", "qk"], ["up", "out", "k"], ["up", "out", "v"], ["down"]):
            lowest, mean = lowest_and_mean(choice, input_bits)
            print(f"{input_bits}-bit   {'+'.join(choice):<16} {lowest:>13.5f} {mean:>9.5f}", flush=True)
    print("\nweights per block of 32, [CLS] and [SEP] rounded twice (engram's int8 path)")
    print(f"{'inputs':<7} {'layers in int8':<16} {'lowest cosine':>13} {'mean':>9}")
    for choice in (["down"], ["up", "out"], ["up", "out", "down"], ["up", "out", "down", "qkv"]):
        lowest, mean = lowest_and_mean(choice, 7, engram=True)
        print(f"7-bit   {'+'.join(choice):<16} {lowest:>13.5f} {mean:>9.5f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
