"""The PyTorch / transformers side of Scripts/bench-train-hf, and the maker of its base models.

  make-base DIR --hidden H --layers L --heads A --kv-heads K --ff F --vocab V [--dtype f32|f16] [--seed S]
      a LlamaForCausalLM with transformers' seeded random initialization (normal, std 0.02; norms 1),
      saved with save_pretrained (safetensors); no bos/eos ids, so that generation never stops early.
  train DIR --length T --batch B --tags P --steps N [--threads 2]
      tag training as tagdata's function stage does it: the base frozen (requires_grad False), a tag
      of P rows (Tag-LLM initialization: 7.8 × the mean embedding) in front of T − P random text ids,
      inputs_embeds built from the embedding and the tag rows; loss = next-token CE on the text +
      100 × MSE of a linear head on the last position's final hidden state; backward; gradient
      clipping at 1; AdamW on the tag and the head only. Prints JSON: seconds of the warm-up step
      and of N timed steps (wall clock and CPU seconds of the process).
  generate DIR --ids "..." --max-new-tokens N [--threads 2] [--repetitions R]
      model.generate(do_sample=False) after a short warm-up; prints JSON: the new ids and the
      seconds of each timed run (the model load left out).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def make_base(a):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(a.seed)
    config = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.ff, num_hidden_layers=a.layers,
                         num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, max_position_embeddings=2048,
                         rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=None, eos_token_id=None,
                         pad_token_id=None)
    dtype = {"f32": torch.float32, "f16": torch.float16}[a.dtype]
    torch.set_default_dtype(dtype)
    model = LlamaForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    model.save_pretrained(a.dir)
    print(json.dumps({"parameters": sum(p.numel() for p in model.parameters()), "dtype": a.dtype}))


def load(d):
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="sdpa")
    model.eval()
    return model


def train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = load(a.dir)
    model.requires_grad_(False)
    embed = model.get_input_embeddings().weight
    mean = embed.mean(0)
    tag = torch.nn.Parameter((mean * 7.8).repeat(a.tags, 1).clone())
    head_w = torch.nn.Parameter(mean[None].clone())
    head_b = torch.nn.Parameter(torch.zeros(1))
    params = [tag, head_w, head_b]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
    text = torch.randint(0, model.config.vocab_size, (a.batch, a.length - a.tags))
    target = torch.full((a.batch,), 0.5)
    seconds, cpu = [], []
    for _ in range(a.steps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        x = torch.cat([tag.expand(a.batch, -1, -1), model.model.embed_tokens(text)], 1)
        h = model.model(inputs_embeds=x, use_cache=False).last_hidden_state
        # Next-token loss where tagdata's mask puts it: positions P .. T−2 predict the text's ids 1 ...
        logits = model.lm_head(h[:, a.tags:-1])
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), text[:, 1:].reshape(-1))
        prediction = h[:, -1] @ head_w[0] + head_b[0]
        loss = ce + 100 * F.mse_loss(prediction, target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(json.dumps({"warmup_seconds": seconds[0], "step_seconds": seconds[1:], "step_cpu_seconds": cpu[1:], "tokens_per_step": a.batch * a.length,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


def generate(a):
    import transformers

    torch.set_num_threads(a.threads)
    model = load(a.dir)
    prompt = torch.tensor([[int(t) for t in a.ids.replace(",", " ").split()]])
    kw = dict(do_sample=False, attention_mask=torch.ones_like(prompt), pad_token_id=0)
    with torch.inference_mode():
        model.generate(prompt, max_new_tokens=4, **kw)  # warm-up
        runs = []
        for _ in range(a.repetitions):
            t0, c0 = time.perf_counter(), time.process_time()
            out = model.generate(prompt, max_new_tokens=a.max_new_tokens, **kw)
            runs.append({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0})
    ids = out[0, prompt.shape[1]:].tolist()
    print(json.dumps({"ids": ids, "runs": runs, "new_tokens": len(ids), "transformers": transformers.__version__,
                      "threads": torch.get_num_threads()}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make-base")
    m.add_argument("dir")
    for k, v in [("hidden", 768), ("layers", 12), ("heads", 12), ("kv-heads", 4), ("ff", 2048), ("vocab", 32000), ("seed", 0)]:
        m.add_argument("--" + k, type=int, default=v)
    m.add_argument("--dtype", default="f32")
    t = sub.add_parser("train")
    t.add_argument("dir")
    for k, v in [("length", 256), ("batch", 2), ("tags", 10), ("steps", 3), ("threads", 2), ("seed", 0)]:
        t.add_argument("--" + k, type=int, default=v)
    g = sub.add_parser("generate")
    g.add_argument("dir")
    g.add_argument("--ids", required=True)
    for k, v in [("max-new-tokens", 128), ("threads", 2), ("repetitions", 3)]:
        g.add_argument("--" + k, type=int, default=v)
    a = p.parse_args()
    {"make-base": make_base, "train": train, "generate": generate}[a.command](a)


if __name__ == "__main__":
    main()
