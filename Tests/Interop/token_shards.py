"""Reads tagdata's tokenized shards with numpy and checks them against what tagdata says each
example is, and checks the exported Hugging Face tokenizer files against tagdata's ids.

usage: token_shards.py DATASET EXPECTED.jsonl [HF_DIR HF_CASES.jsonl]
       token_shards.py - - HF_DIR HF_CASES.jsonl      (only the tokenizer cases)

DATASET: a directory written by `tagdata export --tokenized` (dataset.json, NAME.*.bin, NAME.examples.jsonl).
EXPECTED.jsonl: one line per example in shard order: shard, ids, mask, task, split, key, regression.
HF_DIR: the output of `tagdata tokenize export-hf`; HF_CASES.jsonl: lines {"kind": "text"|"smiles"|"protein",
"text": ..., "ids": [...], optional "file"}: `tokenizers` must give those ids (the case's tokenizer.json file, else
HF_DIR's tokenizer.json, smiles/ or protein/tokenizer.json by kind).
Exit 0 when everything agrees, 1 otherwise, 3 when numpy or tokenizers is missing.
"""
import hashlib
import json
import os
import sys

try:
    import numpy as np
except ImportError as e:
    print(f"missing: {e}")
    sys.exit(3)


def read_dataset(d):
    m = json.load(open(os.path.join(d, "dataset.json")))
    dtype = {"uint16": np.uint16, "uint32": np.uint32}[m["tokenType"]]
    out, problems = [], []
    for s in m["shards"]:
        base = os.path.join(d, s["name"] + ".")
        for f, sha in s["sha256"].items():
            got = hashlib.sha256(open(base + f, "rb").read()).hexdigest()
            if got != sha:
                problems.append(f"{base}{f}: sha256 {got} != manifest {sha}")
        tokens = np.fromfile(base + "tokens.bin", dtype=np.dtype(dtype).newbyteorder("<"))
        offsets = np.fromfile(base + "offsets.bin", dtype=np.dtype(np.uint64).newbyteorder("<"))
        mask = np.fromfile(base + "loss_mask.bin", dtype=np.uint8)
        lines = [json.loads(l) for l in open(base + "examples.jsonl", encoding="utf-8") if l.strip()]
        if len(offsets) != len(lines) + 1 or offsets[0] != 0 or offsets[-1] != len(tokens) or len(mask) != len(tokens):
            problems.append(f"{base}: offsets/tokens/mask/lines do not fit together")
            continue
        if len(lines) != s["examples"] or len(tokens) != s["tokens"]:
            problems.append(f"{base}: counts differ from the manifest")
        for i, line in enumerate(lines):
            a, b = int(offsets[i]), int(offsets[i + 1])
            out.append(dict(shard=s["name"], ids=tokens[a:b].tolist(), mask=mask[a:b].tolist(), **line))
    if sum(s["examples"] for s in m["shards"]) != m["examples"]:
        problems.append("manifest: examples differ from the sum over shards")
    return m, out, problems


def check_schema(dataset, m, problems):
    """dataset.json and every example line against Schemas/training-data.schema.json."""
    try:
        import jsonschema
    except ImportError as e:
        print(f"missing: {e}")
        sys.exit(3)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Schemas", "training-data.schema.json")
    schema = json.load(open(root))
    def against(name, instance, where):
        sub = dict(schema["$defs"][name])
        sub["$defs"] = schema["$defs"]
        for e in jsonschema.Draft202012Validator(sub).iter_errors(instance):
            problems.append(f"{where}: {e.message} at {list(e.absolute_path)}")
    against("manifest2", m, "dataset.json")
    n = 0
    for s in m["shards"]:
        for i, line in enumerate(open(os.path.join(dataset, s["name"] + ".examples.jsonl"), encoding="utf-8")):
            against("example", json.loads(line), f"{s['name']}.examples.jsonl:{i + 1}")
            n += 1
    print(f"jsonschema: dataset.json and {n} example lines checked")


def main():
    dataset, expected_path = sys.argv[1], sys.argv[2]
    if dataset == "-":
        m, got, problems, expected = None, [], [], []
    else:
        m, got, problems = read_dataset(dataset)
        expected = [json.loads(l) for l in open(expected_path, encoding="utf-8") if l.strip()]
        check_schema(dataset, m, problems)
    if len(got) != len(expected):
        problems.append(f"{len(got)} examples read, {len(expected)} expected")
    agree = 0
    for g, e in zip(got, expected):
        same = (g["shard"] == e["shard"] and g["ids"] == e["ids"] and g["mask"] == e["mask"] and g["task"] == e["task"]
                and g.get("split") == e["split"] and g.get("key") == e["key"] and g.get("spans", []) == e["spans"]
                and [(r["head"], r["position"], r["target"]) for r in g["regression"]]
                == [(r["head"], r["position"], r["target"]) for r in e["regression"]])
        if same:
            agree += 1
        elif len(problems) < 20:
            problems.append(f"example {e['key']} ({e['task']}): numpy reads {json.dumps(g)[:300]} expected {json.dumps(e)[:300]}")
        for r in g["regression"]:
            if not (0 <= r["position"] < len(g["ids"])):
                problems.append(f"example {e['key']}: head position {r['position']} outside {len(g['ids'])} tokens")
            else:
                tag = m["tags"].get(r["head"])
                if tag is not None and g["ids"][r["position"]] != tag[-1]:
                    problems.append(f"example {e['key']}: the head does not read the last token of <{r['head']}>")
        if max(g["ids"], default=0) >= m["vocabulary"]["size"]:
            problems.append(f"example {e['key']}: an id past the vocabulary")
    if m is not None:
        print(f"numpy: {agree}/{len(expected)} examples equal (ids, loss mask, task, split, key, head, position, target)")
    if len(sys.argv) > 3:
        try:
            from tokenizers import Tokenizer
        except ImportError as ex:
            print(f"missing: {ex}")
            sys.exit(3)
        hf, cases_path = sys.argv[3], sys.argv[4]
        toks = {}
        if os.path.exists(os.path.join(hf, "tokenizer.json")):
            toks["text"] = Tokenizer.from_file(os.path.join(hf, "tokenizer.json"))
        for k in ("smiles", "protein"):
            p = os.path.join(hf, k, "tokenizer.json")
            if os.path.exists(p):
                toks[k] = Tokenizer.from_file(p)
        counts = {}
        for line in open(cases_path, encoding="utf-8"):
            c = json.loads(line)
            if "file" in c:
                if c["file"] not in toks:
                    toks[c["file"]] = Tokenizer.from_file(c["file"])
                tok, label = toks[c["file"]], os.path.basename(os.path.dirname(c["file"])) + " " + c["kind"]
            else:
                tok, label = toks[c["kind"]], c["kind"]
            ids = tok.encode(c["text"], add_special_tokens=False).ids
            n = counts.setdefault(label, [0, 0])
            n[1] += 1
            if ids == c["ids"]:
                n[0] += 1
            elif len(problems) < 40:
                problems.append(f"HF {c['kind']} {c['text'][:200]!r}: tokenizers {ids[:40]} tagdata {c['ids'][:40]}")
        for k, (a, n) in sorted(counts.items()):
            print(f"exported tokenizer, {k}: {a}/{n} equal")
    for p in problems[:40]:
        print("PROBLEM", p)
    print(f"SUMMARY problems={len(problems)}")
    sys.exit(1 if problems else 0)


main()
