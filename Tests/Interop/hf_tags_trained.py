"""A tiny transformers Llama base for `tagdata train`, and Examples/tags_in_transformers.py's reading of the
trained tags and heads, for tagdata's interop test.

  base DIR            writes a random LlamaForCausalLM with grouped-query attention (4 query heads, 2 key/value
                      heads, untied) to DIR with save_pretrained (float32, safetensors).
  check MODEL PROMPT OUT
                      loads MODEL (a stage's output) with the example's load(), builds inputs_embeds for PROMPT
                      with its parse()/embed(), and writes OUT.hidden.f32 (the final-norm hidden state of every
                      position, float32 little-endian) and OUT.json ({"ids", "heads": {NAME: value at the last
                      virtual token of <NAME>, as the example computes it}}).
"""
import json
import os
import sys

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Examples"))
import tags_in_transformers as example  # noqa: E402


def base(directory):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, bos_token_id=1,
                         eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(0.7 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
    model.save_pretrained(directory)


def check(model_dir, prompt, out):
    model, tags, heads, first = example.load(model_dir)
    ids = example.parse(prompt, tags, first)
    # The example's own values (its run()), and the hidden states it reads them from.
    _, _, _, _, logits, values = example.run(model_dir, prompt)
    with torch.no_grad():
        o = model(inputs_embeds=example.embed(model, tags, first, ids), output_hidden_states=True)
        hidden = o.hidden_states[-1][0]
        if not torch.allclose(model.lm_head(hidden), o.logits[0], atol=1e-5):
            hidden = model.model.norm(o.hidden_states[-1])[0]
    hidden.numpy().astype("<f4").tofile(out + ".hidden.f32")
    json.dump({"ids": ids, "heads": values}, open(out + ".json", "w"))


if __name__ == "__main__":
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    if sys.argv[1] == "base":
        base(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4])
