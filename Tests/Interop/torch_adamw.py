"""PyTorch's AdamW and clip_grad_norm_, and transformers' cosine-with-minimum schedule, for tagdata's
optimizer interop test.

  adamw DIR   reads DIR/setup.json ({"names", "shapes", "decay": per name, "steps", "lrs": the learning
              rate of each step, "beta1", "beta2", "eps", "clip"}) and DIR/initial.f32 (all parameters
              concatenated in name order, float32 little-endian) and DIR/gradients.f32 (per step the
              gradients in the same layout). One parameter group per distinct weight decay (torch applies
              decay per group). Each step: clip_grad_norm_(all, clip), set the groups' lr, step.
              Writes DIR/torch.f32 (the parameters after every step, steps x total) and
              DIR/torch.json ({"norms": clip_grad_norm_'s return values, float64}).
  schedule DIR reads DIR/schedule.json ({"peak", "warmup", "total"}) and writes DIR/hf-schedule.json:
              {"lambda": lr_lambda(k) * peak for k in 0...total, "used": the lr of the optimizer at each
              of the total steps of a LambdaLR driven like transformers' Trainer (lr read before step,
              scheduler.step() after)}.
"""
import json
import os
import sys

import numpy as np
import torch


def adamw(d):
    setup = json.load(open(os.path.join(d, "setup.json")))
    names, shapes, decay = setup["names"], setup["shapes"], setup["decay"]
    sizes = [int(np.prod(s)) for s in shapes]
    total = sum(sizes)
    initial = np.fromfile(os.path.join(d, "initial.f32"), dtype="<f4")
    grads = np.fromfile(os.path.join(d, "gradients.f32"), dtype="<f4").reshape(setup["steps"], total)
    params, offset = [], 0
    for s, n in zip(shapes, sizes):
        params.append(torch.nn.Parameter(torch.tensor(initial[offset:offset + n].reshape(s), dtype=torch.float32)))
        offset += n
    groups = {}
    for p, name in zip(params, names):
        groups.setdefault(decay[name], []).append(p)
    opt = torch.optim.AdamW([{"params": ps, "weight_decay": wd} for wd, ps in groups.items()], lr=0.0,
                            betas=(setup["beta1"], setup["beta2"]), eps=setup["eps"], foreach=False)
    out, norms = [], []
    for step in range(setup["steps"]):
        offset = 0
        for p, n in zip(params, sizes):
            p.grad = torch.tensor(grads[step, offset:offset + n].reshape(p.shape), dtype=torch.float32)
            offset += n
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, setup["clip"])))
        for g in opt.param_groups:
            g["lr"] = setup["lrs"][step]
        opt.step()
        out.append(np.concatenate([p.detach().numpy().reshape(-1) for p in params]))
    np.stack(out).astype("<f4").tofile(os.path.join(d, "torch.f32"))
    json.dump({"norms": norms}, open(os.path.join(d, "torch.json"), "w"))


def schedule(d):
    from transformers.optimization import get_cosine_with_min_lr_schedule_with_warmup
    s = json.load(open(os.path.join(d, "schedule.json")))
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=s["peak"])
    sched = get_cosine_with_min_lr_schedule_with_warmup(opt, s["warmup"], s["total"], min_lr_rate=0.1)
    lam = [s["peak"] * sched.lr_lambdas[0](k) for k in range(s["total"] + 1)]
    used = []
    for _ in range(s["total"]):
        used.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    json.dump({"lambda": lam, "used": used}, open(os.path.join(d, "hf-schedule.json"), "w"))


if __name__ == "__main__":
    {"adamw": adamw, "schedule": schedule}[sys.argv[1]](sys.argv[2])
