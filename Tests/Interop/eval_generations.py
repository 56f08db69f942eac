"""`tagdata eval`'s generation scores checked against sacrebleu on the generations it wrote.

Usage: eval_generations.py EVAL_DIR
       eval_generations.py --numbers FILE
  EVAL_DIR is the --out of `tagdata eval`: report.json (its "generation" tasks with bleu, chrf,
  exact_match) and generations.jsonl (key, task, reference, hypothesis, per line). For each task
  the report's figures must equal sacrebleu's corpus BLEU and chrF (default parameters) of the
  written hypotheses against the written references, and the share of identical pairs, to 1e-9
  relative. Number-as-text tasks (report "number_as_text") are checked too: each line's parsed
  value must be float() of the first match of [+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)? in the
  hypothesis (None when there is none or it is not finite), and the count of parsed values.
  With --numbers, FILE holds lines {"text", "parsed"} (tagdata's first number of each text) and
  each parsed value must be Python's as above.
  Prints one line per disagreement and a last line: SUMMARY with key=value fields.
  Exit 0: all agree; 1: a disagreement; 3: sacrebleu is missing.
"""
import json
import math
import os
import re
import sys

try:
    import sacrebleu
    from sacrebleu.metrics import BLEU, CHRF
except ImportError as e:
    print(f"MISSING {e.name}: pip install sacrebleu", flush=True)
    sys.exit(3)

TOL = 1e-9
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def first_number(text):
    m = NUMBER.search(text)
    if not m:
        return None
    v = float(m.group(0))
    return v if math.isfinite(v) else None


def numbers(path):
    problems = checked = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            x = json.loads(line)
            v = first_number(x["text"])
            checked += 1
            if x["parsed"] != v and not (x["parsed"] is not None and v is not None and x["parsed"] == float(v)):
                problems += 1
                print(f"{x['text']!r}: tagdata {x['parsed']!r} vs Python {v!r}")
    print(f"SUMMARY problems={problems} checked={checked}")
    sys.exit(1 if problems else 0)


def main():
    if sys.argv[1] == "--numbers":
        numbers(sys.argv[2])
    out = sys.argv[1]
    with open(os.path.join(out, "report.json"), encoding="utf-8") as f:
        report = json.load(f)
    lines = []
    with open(os.path.join(out, "generations.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                lines.append(json.loads(line))
    problems = 0
    checked = 0

    def agree(what, ours, ref):
        nonlocal problems, checked
        checked += 1
        if ours is None or ref is None:
            if ours is not ref:
                problems += 1
                print(f"{what}: tagdata {ours!r} vs sacrebleu {ref!r}")
            return
        if abs(ours - ref) > TOL * max(1.0, abs(ref)):
            problems += 1
            print(f"{what}: tagdata {ours!r} vs sacrebleu {ref!r}")

    for t in report.get("generation") or []:
        g = [x for x in lines if x["task"] == t["task"] and x.get("target") is None]
        hyps = [x["hypothesis"] for x in g]
        refs = [x["reference"] for x in g]
        if len(g) != t["count"]:
            problems += 1
            print(f"{t['task']}: {len(g)} generations written, the report counts {t['count']}")
        agree(f"{t['task']} BLEU", t["metrics"]["bleu"]["value"], BLEU().corpus_score(hyps, [refs]).score)
        agree(f"{t['task']} chrF", t["metrics"]["chrf"]["value"], CHRF().corpus_score(hyps, [refs]).score)
        agree(f"{t['task']} exact match", t["metrics"]["exact_match"].get("value"),
              sum(h == r for h, r in zip(hyps, refs)) / len(g) if g else None)
    for t in report.get("numberAsText") or []:
        g = [x for x in lines if x["task"] == t["task"] and x.get("target") is not None]
        parsed = 0
        for x in g:
            v = first_number(x["hypothesis"])
            agree(f"{t['task']} {x['key']} parsed {x['hypothesis']!r}", x.get("parsed"), v)
            parsed += v is not None
        agree(f"{t['task']} parsed count", t["parsed"], parsed)
    print(f"SUMMARY problems={problems} checked={checked} sacrebleu={sacrebleu.__version__}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
