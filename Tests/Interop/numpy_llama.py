"""Reference forward pass of a LLaMA-style decoder with Tag-LLM tags and heads, in numpy, for
tagdata's interop tests. Written from the Hugging Face LLaMA architecture description (RMSNorm,
rotary embeddings with the rotate-half layout, causal attention, SwiGLU), not from tagdata.

  forward DIR INPUT.json OUTPUT.json
    INPUT: {"batch": B, "length": T, "tokens": [...], "key_mask": [...], "regression": [[pos, head], ...]}
    OUTPUT: {"logits": [...], "predictions": [...]}
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file


def rms_norm(x, g, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g


def rope(x, positions, heads, base):
    n, width = x.shape
    hd = width // heads
    half = hd // 2
    inv = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    angles = np.outer(positions, inv)  # n x half
    cos, sin = np.cos(angles), np.sin(angles)
    y = x.reshape(n, heads, hd).astype(np.float64).copy()
    a, b = y[:, :, :half].copy(), y[:, :, half:].copy()
    y[:, :, :half] = a * cos[:, None, :] - b * sin[:, None, :]
    y[:, :, half:] = b * cos[:, None, :] + a * sin[:, None, :]
    return y.reshape(n, width)


def main():
    directory, inp, out = sys.argv[2], sys.argv[3], sys.argv[4]
    cfg = json.load(open(os.path.join(directory, "config.json")))
    w = {k: v.astype(np.float64) for k, v in load_file(os.path.join(directory, "model.safetensors")).items()}
    tags, heads_list, tag_rows = {}, [], []
    if os.path.exists(os.path.join(directory, "tags.json")):
        manifest = json.load(open(os.path.join(directory, "tags.json")))
        extra = {k: v.astype(np.float64) for k, v in load_file(os.path.join(directory, "tags.safetensors")).items()}
        w.update(extra)
        tag_rows = [extra["tags." + t["name"]] for t in manifest["tags"]]
    spec = json.load(open(inp))
    B, T = spec["batch"], spec["length"]
    V, d, H = cfg["vocab_size"], cfg["hidden_size"], cfg["num_attention_heads"]
    eps, base = cfg["rms_norm_eps"], cfg["rope_theta"]
    table = np.concatenate([w["model.embed_tokens.weight"]] + tag_rows, axis=0)
    x = table[np.array(spec["tokens"])]
    positions = np.array([i % T for i in range(B * T)], dtype=np.float64)
    mask = np.array(spec["key_mask"], dtype=bool).reshape(B, T)
    hd = d // H
    for l in range(cfg["num_hidden_layers"]):
        p = lambda name: w[f"model.layers.{l}.{name}"]
        h = rms_norm(x, p("input_layernorm.weight"), eps)
        q = rope(h @ p("self_attn.q_proj.weight").T, positions, H, base)
        k = rope(h @ p("self_attn.k_proj.weight").T, positions, H, base)
        v = h @ p("self_attn.v_proj.weight").T
        att = np.zeros_like(q)
        for b in range(B):
            rows = slice(b * T, (b + 1) * T)
            for hh in range(H):
                cols = slice(hh * hd, (hh + 1) * hd)
                s = q[rows, cols] @ k[rows, cols].T / np.sqrt(hd)
                allowed = np.tril(np.ones((T, T), dtype=bool)) & mask[b][None, :]
                s = np.where(allowed, s, -np.inf)
                m = s.max(axis=1, keepdims=True)
                e = np.where(allowed, np.exp(s - m), 0.0)
                prob = e / e.sum(axis=1, keepdims=True)
                att[rows, cols] = prob @ v[rows, cols]
        x = x + att @ p("self_attn.o_proj.weight").T
        h = rms_norm(x, p("post_attention_layernorm.weight"), eps)
        g = h @ p("mlp.gate_proj.weight").T
        u = h @ p("mlp.up_proj.weight").T
        x = x + ((g / (1 + np.exp(-g))) * u) @ p("mlp.down_proj.weight").T
    hidden = rms_norm(x, w["model.norm.weight"], eps)
    # Tied embeddings: the LM head is the embedding matrix when the file has no lm_head.
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    logits = hidden @ head.T
    predictions = [float(hidden[pos] @ w[f"heads.{head}.weight"][0] + w[f"heads.{head}.bias"][0])
                   for pos, head in spec.get("regression", [])]
    json.dump({"logits": logits.reshape(-1).tolist(), "predictions": predictions}, open(out, "w"))


if __name__ == "__main__":
    main()
