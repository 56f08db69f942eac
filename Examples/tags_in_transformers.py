"""Use a model trained by `tagdata train` -- its Tag-LLM tags and regression heads included -- from
Python with Hugging Face transformers.

    python Examples/tags_in_transformers.py MODEL_DIR PROMPT [--generate N] [--out PREFIX]

MODEL_DIR is a stage's output (OUT/stage-N-NAME/model): config.json + model.safetensors (a
standard LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM checkpoint, which
AutoModelForCausalLM loads as it is) and the tag dictionary tags.safetensors (`tags.NAME`:
rows x hidden, the tag's virtual-token embeddings; `heads.NAME.weight` 1 x hidden and
`heads.NAME.bias` 1, a linear regression head) + tags.json (tag order and rows, head names).

PROMPT is token ids and tags separated by spaces, e.g. "1 <Protein> 80 81 82 <Hydrophobic>".
Token ids are the base vocabulary's (the byte tokenizer's for tagdata's built-in data:
<bos> is 1, byte b is 4 + b). A tag <NAME> stands for its rows' virtual tokens; as in
tagdata, their ids follow the vocabulary: tag i of tags.json owns ids vocab_size + offset_i ...
(offset_i: the rows of the tags before it). transformers' embedding table has no such rows, so
the model is run on `inputs_embeds`: embedding rows for text ids, tag rows for tag ids.

A regression head NAME reads the final hidden state (after the final norm, the one the LM head
reads) at the last virtual token of its function tag <NAME> (its last occurrence).

Prints the next-token prediction and each head's value. --generate N continues the prompt
greedily by N tokens (model.generate on the same inputs_embeds, no stop token): Tag-LLM's
"<SMILES> CCO" continued, as `tagdata generate --prompt "<SMILES> CCO"` does. With --out PREFIX,
writes PREFIX.logits.f32 (all positions' logits, float32 little-endian) and PREFIX.json
({"ids": [...], "heads": {NAME: value}, "generated": [...]}) for comparison with tagdata.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def load(model_dir):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    tags, heads, manifest = {}, {}, {"tags": [], "heads": []}
    if os.path.exists(os.path.join(model_dir, "tags.json")):
        manifest = json.load(open(os.path.join(model_dir, "tags.json")))
        tensors = load_file(os.path.join(model_dir, "tags.safetensors"))
        tags = {t["name"]: tensors[f"tags.{t['name']}"] for t in manifest["tags"]}
        heads = {h: (tensors[f"heads.{h}.weight"], tensors[f"heads.{h}.bias"]) for h in manifest["heads"]}
    # Tag ids, as tagdata numbers them: after the vocabulary, in tags.json order.
    first, next_id = {}, model.config.vocab_size
    for t in manifest["tags"]:
        first[t["name"]] = next_id
        next_id += t["rows"]
    return model, tags, heads, first


def parse(prompt, tags, first):
    ids = []
    for word in prompt.split():
        if word.startswith("<") and word.endswith(">"):
            name = word[1:-1]
            if name not in tags:
                sys.exit(f"unknown tag {word}: the model's tags are {', '.join('<%s>' % t for t in tags) or 'none'}")
            ids += range(first[name], first[name] + tags[name].shape[0])
        else:
            ids.append(int(word))
    return ids


def embed(model, tags, first, ids):
    """inputs_embeds (1 x length x hidden): embedding rows for text ids, tag rows for tag ids."""
    table = model.get_input_embeddings().weight
    rows = []
    for i in ids:
        if i < model.config.vocab_size:
            rows.append(table[i])
        else:
            name = next(n for n, f in first.items() if f <= i < f + tags[n].shape[0])
            rows.append(tags[name][i - first[name]])
    return torch.stack(rows).unsqueeze(0)


def run(model_dir, prompt):
    model, tags, heads, first = load(model_dir)
    ids = parse(prompt, tags, first)
    with torch.no_grad():
        out = model(inputs_embeds=embed(model, tags, first, ids), output_hidden_states=True)
        logits = out.logits[0]
        hidden = out.hidden_states[-1][0]
        # transformers returns the final-norm state last; older versions returned the last layer's
        # output before the norm: normalize then (the LM head must reproduce the logits).
        if not torch.allclose(model.lm_head(hidden), logits, atol=1e-5):
            hidden = model.model.norm(out.hidden_states[-1])[0]
        values = {}
        for name, (w, b) in heads.items():
            if name in first:
                last_row = first[name] + tags[name].shape[0] - 1
                positions = [k for k, i in enumerate(ids) if i == last_row]
                if positions:
                    values[name] = float(hidden[positions[-1]] @ w[0] + b[0])
    return model, tags, first, ids, logits, values


def generate(model, tags, first, ids, n):
    """Greedy continuation of the prompt (ids with tag ids) by n tokens, with transformers' KV cache."""
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    embeds = embed(model, tags, first, ids)
    with torch.no_grad():
        out = model.generate(inputs_embeds=embeds, attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long),
                             max_new_tokens=n, do_sample=False, eos_token_id=None, pad_token_id=0)
    return out[0, -n:].tolist()


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    model_dir, prompt = argv[0], argv[1]
    options = dict(zip(argv[2::2], argv[3::2]))
    model, tags, first, ids, logits, values = run(model_dir, prompt)
    print(f"ids: {ids}")
    print(f"next token: {int(logits[-1].argmax())}")
    for name, v in values.items():
        print(f"head {name}: {v:.6f}")
    generated = generate(model, tags, first, ids, int(options["--generate"])) if "--generate" in options else []
    if generated:
        print(f"greedy continuation: {generated}")
    if "--out" in options:
        logits.numpy().astype("<f4").tofile(options["--out"] + ".logits.f32")
        json.dump({"ids": ids, "heads": values, "generated": generated}, open(options["--out"] + ".json", "w"))


if __name__ == "__main__":
    transformers.utils.logging.disable_progress_bar()
    main(sys.argv[1:])
