"""A tagdata build read by the Python tools a training script uses, for tagdata's interop test.

Usage: hf_datasets.py SCHEMA BUILD_DIR
  Validates every record of every shard (BUILD_DIR/*.jsonl, *.jsonl.gz) against SCHEMA with jsonschema;
  loads every shard on its own, then all of them together, with Hugging Face
  datasets.load_dataset("json", data_files=...) and compares the row counts with
  BUILD_DIR/manifest.json (per shard and in total); checks each shard's SHA-256 and that
  segments spell the formulation. Prints one line per disagreement and a last line:
  SUMMARY followed by key=value fields. Exit 0: all agree; 1: a disagreement; 3: a tool is
  missing (jsonschema or datasets).
"""
import glob
import gzip
import hashlib
import json
import os
import sys

try:
    import jsonschema
    import datasets
except ImportError as e:  # the test skips, or fails under TAGDATA_REQUIRE_INTEROP=1
    print(f"MISSING {e.name}: pip install datasets jsonschema", flush=True)
    sys.exit(3)


def main():
    schema_path, build = sys.argv[1], sys.argv[2]
    with open(schema_path) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    with open(os.path.join(build, "manifest.json")) as f:
        manifest = json.load(f)
    problems = 0
    records = 0
    labels = 0
    shards = {s["file"]: s for s in manifest["shards"]}
    files = sorted(glob.glob(os.path.join(build, "*.jsonl")) + glob.glob(os.path.join(build, "*.jsonl.gz")))
    if sorted(os.path.basename(p) for p in files) != sorted(shards):
        print(f"FILES shards on disk {sorted(os.path.basename(p) for p in files)} != manifest {sorted(shards)}")
        problems += 1
    datasets.disable_progress_bars()
    for path in files:
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != shards.get(name, {}).get("sha256"):
            print(f"SHA256 {name}: not the manifest's")
            problems += 1
        text = gzip.decompress(data) if name.endswith(".gz") else data
        for n, line in enumerate(text.decode("utf-8").splitlines(), 1):
            rec = json.loads(line)
            records += 1
            for err in validator.iter_errors(rec):
                print(f"SCHEMA {name} line {n}: {err.message} at {list(err.absolute_path)}")
                problems += 1
            if rec["regression"] and rec["target"] is not None:
                # Tag-LLM's label string, computed by Python itself: str(value)[:6] padded with 0.
                expected_label = str(float(rec["target"]))[:6].ljust(6, "0")
                labels += 1
                if rec["output"] != expected_label:
                    print(f"LABEL {name} line {n}: {rec['output']!r}, Python gives {expected_label!r} for {rec['target']!r}")
                    problems += 1
            if "".join(s["text"] for s in rec["segments"]) != rec["formulation"]:
                print(f"SEGMENTS {name} line {n}: do not spell the formulation")
                problems += 1
        ds = datasets.load_dataset("json", data_files=path, split="train")
        expected = shards.get(name, {}).get("records")
        if ds.num_rows != expected:
            print(f"ROWS {name}: datasets reads {ds.num_rows}, manifest says {expected}")
            problems += 1
    everything = datasets.load_dataset("json", data_files=files, split="train")
    if everything.num_rows != manifest["total"]:
        print(f"ROWS all shards: datasets reads {everything.num_rows}, manifest says {manifest['total']}")
        problems += 1
    per_task = {}
    for t in everything["task"]:
        per_task[t] = per_task.get(t, 0) + 1
    for t in manifest["tasks"]:
        if per_task.get(t["task"], 0) != t["examples"]:
            print(f"TASK {t['task']}: datasets reads {per_task.get(t['task'], 0)}, manifest says {t['examples']}")
            problems += 1
    print(f"SUMMARY records={records} labels={labels} rows={everything.num_rows} shards={len(files)} problems={problems} "
          f"datasets={datasets.__version__}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
