"""The reference for `tagdata build --preset tag-llm --tasks BA`, in plain Python (sqlite3, json).

Reads the tdc-dti table rows of a tagdata catalog with sqlite3 (the query of the catalog's
forEachTableRow) and writes the BA examples as sharded JSON Lines the way ShardExport does: the BA
template filled with the sequence, the SMILES and Tag-LLM's label string; the example's key is the
filled template, its split follows the seeded random split of the template without the label (a
pair measured twice stays in one split); the shard StableHash(task, key) % shards, records spilled
into one file per shard, then each shard sorted (key hash, second key hash, source, row), repeats
of a key dropped (the first source row kept), one `json.dumps` per record. StableHash (FNV-1a, then SplitMix64's finalizer) is implemented here;
the FNV state after the template's head and the protein sequence is kept per sequence (the
sequence is most of the key; the rest, SMILES and label, is hashed byte by byte per row).

No leakage report and no manifest are written: only the shards.

usage: build_reference.py CATALOG OUT_DIR [--shards 4] [--seed 42]
"""
import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import sys

M = (1 << 64) - 1
IDENTITY_SEED = 0x9E3779B97F4A7C15
PRIME = 0x100000001B3
OFFSET = 0xCBF29CE484222325


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * PRIME) & M
    return h


def fnv_parts(parts, seed=0):
    """FNV-1a state after `parts` (joined by the part separator 0x1f), before the finalizer."""
    h = OFFSET ^ seed
    for k, p in enumerate(parts):
        if k:
            h = ((h ^ 0x1F) * PRIME) & M
        h = fnv(h, p)
    return h


def finalize(h):
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & M
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & M
    h ^= h >> 31
    return h


def stable_hash(parts, seed=0):
    return finalize(fnv_parts([p.encode() for p in parts], seed))


def label_string(y):
    return repr(y)[:6].ljust(6, "0")


# The BA template (Tag-LLM, both tags), as segments around the inputs and the label.
HEAD = "# # Input: The protein sequence is "
MID = ". \nThe SMILES of the drug is "
TAIL = ". \n# # Output: The binding affinity is "


def rows(db):
    """(path, record_no, {field: value}) of each tdc-dti row, as Catalog.forEachTableRow reads them."""
    cur = db.execute(
        """
        SELECT s.path, v.record_no, v.field, v.kind, m.smiles, p.sequence, v.text, v.number, v.source_id
        FROM table_values v JOIN tables t ON t.source_id = v.source_id JOIN sources s ON s.id = v.source_id
        LEFT JOIN molecules m ON m.id = v.molecule_id LEFT JOIN proteins p ON p.id = v.protein_id
        WHERE t.name = 'tdc-dti' ORDER BY s.path, v.source_id, v.record_no, v.ordinal
        """
    )
    key, path, rec, fields = None, None, None, None
    for path_, rec_, field, kind, smiles, seq, text, number, source in cur:
        if (source, rec_) != key:
            if fields is not None:
                yield path, rec, fields
            key, path, rec, fields = (source, rec_), path_, rec_, {}
        if field in fields:
            continue  # the first cell of a field counts
        if kind == "smiles":
            fields[field] = smiles or ""
        elif kind == "protein":
            fields[field] = seq or ""
        elif kind == "number":
            fields[field] = float(number) if number is not None else 0.0
        else:
            fields[field] = text or ""
    if fields is not None:
        yield path, rec, fields


def text(fields, name):
    v = fields.get(name)
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else None
    return v


def number(fields, name):
    v = fields.get(name)
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if v is None:
        return None
    try:
        x = float(v)
    except ValueError:
        return None
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("catalog")
    ap.add_argument("out")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    shards = a.shards
    tmp = a.out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    spills = [open(f"{tmp}/spill-{k}", "wb") for k in range(shards)]

    # FNV states after the key's head (template head, tag, sequence) for the shard/key hash and
    # for the split hash, and the sequence's SHA-256, per sequence.
    per_seq = {}
    key_prefix = fnv_parts([b"BA", b""])
    identity_prefix = fnv_parts([b"BA", b""], IDENTITY_SEED)
    split_prefix = fnv_parts([b"split", b"BA", b""], a.seed)
    unit = float(1 << 53)
    made = rejected = 0
    db = sqlite3.connect(f"file:{a.catalog}?mode=ro", uri=True)
    for path, rec, f in rows(db):
        seq, smi = text(f, "Target"), text(f, "Drug")
        if not seq or not smi:
            rejected += 1
            continue
        y = number(f, "Y")
        if y is None:
            rejected += 1
            continue
        label = label_string(y)
        s = per_seq.get(seq)
        if s is None:
            head = (HEAD + "<Protein> " + seq).encode()
            s = (fnv(key_prefix, head), fnv(split_prefix, head), hashlib.sha256(seq.encode()).hexdigest(),
                 fnv(identity_prefix, head))
            per_seq[seq] = s
        rest = MID + "<SMILES> " + smi + TAIL + "<BA> " + label + "."
        # The key: the filled template; the split follows it without the label.
        kh, sh, ih = s[0], s[1], s[3]
        for b in rest.encode():
            kh = ((kh ^ b) * PRIME) & M
            ih = ((ih ^ b) * PRIME) & M
        for b in (MID + "<SMILES> " + smi + TAIL + "<BA> .").encode():
            sh = ((sh ^ b) * PRIME) & M
        kh, sh, ih = finalize(kh), finalize(sh), finalize(ih)
        u = (sh >> 11) / unit
        split = "train" if u < 0.8 else "valid" if u < 0.8 + 0.1 else "test"
        formulation = HEAD + "<Protein> " + seq + rest
        record = {
            "task": "BA", "stage": 3, "split": split, "regression": True, "formulation": formulation,
            "segments": [
                {"kind": "text", "text": HEAD}, {"kind": "tag", "text": "<Protein>"}, {"kind": "text", "text": " "},
                {"kind": "protein", "text": seq}, {"kind": "text", "text": MID}, {"kind": "tag", "text": "<SMILES>"},
                {"kind": "text", "text": " "}, {"kind": "smiles", "text": smi}, {"kind": "text", "text": TAIL},
                {"kind": "tag", "text": "<BA>"}, {"kind": "text", "text": " "}, {"kind": "label", "text": label},
                {"kind": "text", "text": "."},
            ],
            "inputs": [seq, smi, text(f, "Target_ID") or "", text(f, "Drug_ID") or ""],
            "output": label, "target": y, "key": f"{kh:016x}",
            "ids": {"molecules": [smi], "proteins": [s[2]], "source": path, "row": rec, "year": None},
        }
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        sort_key = kh.to_bytes(8, "big") + ih.to_bytes(8, "big") + path.encode() + b"\0" + str(rec).zfill(12).encode()
        out = spills[kh % shards]
        out.write(struct.pack("<II", len(sort_key), len(line)))
        out.write(sort_key)
        out.write(line)
        made += 1
    db.close()
    for f in spills:
        f.close()

    duplicates = written = 0
    for k in range(shards):
        entries = []
        with open(f"{tmp}/spill-{k}", "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            kl, ll = struct.unpack_from("<II", data, pos)
            pos += 8
            entries.append((data[pos:pos + kl], data[pos + kl:pos + kl + ll]))
            pos += kl + ll
        del data
        os.unlink(f"{tmp}/spill-{k}")
        entries.sort(key=lambda e: e[0])
        name = f"shard-{k:05d}-of-{shards:05d}.jsonl"
        last = None
        with open(f"{tmp}/{name}", "wb") as out:
            for sk, line in entries:
                # The example's identity: its two key hashes.
                kk = sk[:16]
                if kk == last:
                    duplicates += 1
                    continue
                last = kk
                out.write(line)
                out.write(b"\n")
                written += 1
        del entries
    shutil.rmtree(a.out, ignore_errors=True)
    os.rename(tmp, a.out)
    print(json.dumps({"examples": made, "written": written, "duplicates": duplicates, "rejected": rejected}))


if __name__ == "__main__":
    main()
