"""Greedy generation by transformers on tiny random decoders, for tagdata's generation interop test.

  make OUT   writes OUT/generate.json: a list of {"name", "dir", "prompt", "eos", "ids", "max_new_tokens"}
             where dir is a float32 model directory (the models of hf_llama_models.py: Llama GQA,
             Llama MQA with tied embeddings, rope llama3, dynamic NTK with a prompt near
             max_position_embeddings so that generation crosses it, Mistral with a sliding window,
             Qwen2 with Q/K/V biases) and ids the new token ids of
             model.generate(prompt, max_new_tokens, do_sample=False, eos_token_id=eos) (eos null: no
             stop token); without a stop token also "logits": the raw logits of each step (float32,
             steps × vocabulary, little-endian). Each generation runs on a freshly loaded model (dynamic NTK scaling keeps
             state in the module between calls).
             64 new tokens. "llama_tied_llama3" is Llama with tied embeddings and llama3 rope scaling.
             The BF16 cases ("dtype": "BF16") are bfloat16 checkpoints of Llama GQA, tied llama3 and Qwen2:
             "ids" and "logits" from the checkpoint loaded in float32 (the weights tagdata reads), and
             "bf16_ids", "bf16_logits" from transformers computing in bfloat16 (torch_dtype bfloat16).
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_llama_models import VOCAB, cases, randomize  # noqa: E402

NEW = 64
NAMES = ["llama_gqa", "llama_mqa_tied", "llama_rope_llama3", "llama_rope_dynamic", "mistral_window", "qwen2",
         "llama_tied_llama3"]
BF16 = ["llama_gqa", "llama_tied_llama3", "qwen2"]


def generate(directory, prompt, eos, dtype=torch.float32):
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype, attn_implementation="eager")
    model.eval()
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = 0
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt], dtype=torch.long), max_new_tokens=NEW, do_sample=False,
                             eos_token_id=eos, pad_token_id=0, return_dict_in_generate=True, output_logits=True)
    logits = torch.cat([step[0:1] for step in out.logits]).float().numpy()
    return out.sequences[0, len(prompt):].tolist(), logits


def make(out):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(7)
    all_cases = cases()
    tied = all_cases["llama_rope_llama3"].to_dict()
    tied["tie_word_embeddings"] = True
    all_cases["llama_tied_llama3"] = type(all_cases["llama_rope_llama3"]).from_dict(tied)
    listing = []
    for k, name in enumerate(NAMES):
        config = all_cases[name]
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
        randomize(model, 200 + k)
        directory = os.path.join(out, name)
        model.save_pretrained(directory)
        # The dynamic model's max_position_embeddings is 16: a 12-token prompt and 20 new tokens cross it.
        length = 12 if name == "llama_rope_dynamic" else 7
        prompt = torch.randint(3, VOCAB, (length,), generator=g).tolist()
        ids, logits = generate(directory, prompt, None)
        path = os.path.join(directory, "generate-logits.f32")
        logits.astype("<f4").tofile(path)
        listing.append({"name": name, "dir": directory, "prompt": prompt, "eos": None, "ids": ids, "max_new_tokens": NEW,
                        "logits": path})
        # A stop token: the 6th greedy token; generation must end there (keeping it).
        eos = ids[5]
        stopped, _ = generate(directory, prompt, eos)
        listing.append({"name": name + " eos", "dir": directory, "prompt": prompt, "eos": eos, "ids": stopped,
                        "max_new_tokens": NEW})
        if name in BF16:
            bf16 = os.path.join(out, name + "-BF16")
            model.to(torch.bfloat16).save_pretrained(bf16)
            ids, logits = generate(bf16, prompt, None)
            path = os.path.join(bf16, "generate-logits.f32")
            logits.astype("<f4").tofile(path)
            bids, blogits = generate(bf16, prompt, None, torch.bfloat16)
            bpath = os.path.join(bf16, "generate-bf16-logits.f32")
            blogits.astype("<f4").tofile(bpath)
            listing.append({"name": name + " BF16", "dtype": "BF16", "dir": bf16, "prompt": prompt, "eos": None, "ids": ids,
                            "max_new_tokens": NEW, "logits": path, "bf16_ids": bids, "bf16_logits": bpath})
    json.dump(listing, open(os.path.join(out, "generate.json"), "w"))


if __name__ == "__main__":
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    {"make": make}[sys.argv[1]](sys.argv[2])
