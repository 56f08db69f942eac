"""Tiny random Hugging Face decoders (transformers, torch on the CPU) for tagdata's interop tests.

  make OUT          writes OUT/cases.json and one model directory per (case, dtype): Llama with
                    grouped-query attention, multi-query with tied embeddings, rope_scaling llama3,
                    linear and dynamic, head_dim != hidden/heads, attention_bias; Mistral with a
                    sliding window; Qwen2 (Q/K/V biases). Each in float32, float16 and bfloat16
                    (one float32 directory sharded). The reference logits of each token sequence
                    come from the saved directory loaded back in float32 (the same weights tagdata
                    reads), as raw little-endian float32 files; for the float32 directories also
                    the gradients of every parameter of the next-token cross-entropy of the
                    longest sequence (gradients.safetensors).
  check LIST.json   LIST: [{"dir": D, "sequences": [[ids]], "outputs": [path, ...]}]: loads each
                    directory (written by tagdata) with from_pretrained and writes its logits.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config

VOCAB = 300
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
              rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, pad_token_id=0)


def cases():
    def llama(**kw):
        return LlamaConfig(**{**COMMON, "num_key_value_heads": 2, **kw})
    return {
        "llama_gqa": llama(),
        "llama_mqa_tied": llama(num_key_value_heads=1, tie_word_embeddings=True),
        "llama_rope_llama3": llama(rope_scaling={"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                                   rope_theta=10000.0),
        "llama_rope_linear": llama(rope_scaling={"rope_type": "linear", "factor": 2.0}),
        "llama_rope_dynamic": llama(rope_scaling={"rope_type": "dynamic", "factor": 2.0}, max_position_embeddings=16),
        "llama_head_dim_32": llama(head_dim=32),
        "llama_attention_bias": llama(attention_bias=True, rope_theta=500000.0),
        "mistral_window": MistralConfig(**{**COMMON, "num_key_value_heads": 2, "sliding_window": 8, "head_dim": 16}),
        "qwen2": Qwen2Config(**{**COMMON, "num_key_value_heads": 2}),
    }


def randomize(model, seed):
    """Weights of order one (the default initializer's 0.02 would make every logit nearly 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(0.7 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)


def logits(model, sequence):
    with torch.no_grad():
        ids = torch.tensor([sequence], dtype=torch.long)
        return model(input_ids=ids).logits[0].float().numpy()


def gradients(model, sequence, path):
    """Gradients of every parameter for the mean next-token cross-entropy of one sequence."""
    model.zero_grad()
    ids = torch.tensor([sequence], dtype=torch.long)
    out = model(input_ids=ids).logits[0]
    torch.nn.functional.cross_entropy(out[:-1], ids[0, 1:]).backward()
    save_file({n: p.grad.detach().contiguous() for n, p in model.named_parameters() if p.grad is not None}, path)
    return path


def make(out):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    # Ascending lengths: transformers' dynamic NTK scaling keeps the longest length seen so far.
    sequences = [torch.randint(3, VOCAB, (n,), generator=g).tolist() for n in (5, 17, 40)]
    listing = []
    for k, (name, config) in enumerate(cases().items()):
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
        randomize(model, 100 + k)
        model.eval()
        for dtype, torch_dtype in (("F32", torch.float32), ("F16", torch.float16), ("BF16", torch.bfloat16)):
            directory = os.path.join(out, f"{name}-{dtype}")
            shard = {"max_shard_size": "100KB"} if (name == "llama_gqa" and dtype == "F32") else {}
            model.to(torch_dtype).save_pretrained(directory, **shard)
            model.to(torch.float32)
            reloaded = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager")
            reloaded.eval()
            outputs = []
            for i, s in enumerate(sequences):
                path = os.path.join(directory, f"reference-{i}.f32")
                logits(reloaded, s).astype("<f4").tofile(path)
                outputs.append(path)
            item = {"name": name, "dtype": dtype, "dir": directory, "sequences": sequences, "outputs": outputs,
                    "sharded": bool(shard)}
            if dtype == "F32":
                item["gradients"] = gradients(reloaded, sequences[-1], os.path.join(directory, "gradients.safetensors"))
            listing.append(item)
    json.dump(listing, open(os.path.join(out, "cases.json"), "w"))


def check(path):
    for item in json.load(open(path)):
        model = AutoModelForCausalLM.from_pretrained(item["dir"], dtype=torch.float32, attn_implementation="eager")
        model.eval()
        for s, out in zip(item["sequences"], item["outputs"]):
            logits(model, s).astype("<f4").tofile(out)


if __name__ == "__main__":
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
