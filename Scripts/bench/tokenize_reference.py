"""The reference of Scripts/bench-tokenize: Hugging Face `tokenizers` on one thread, and the inputs.

usage:
  tokenize_reference.py prepare CORPORA_DIR OUT_DIR [MIN_BYTES]
      Writes OUT_DIR/{text,smiles,protein}.txt (one record a line, the shipped material repeated
      until each file holds at least MIN_BYTES, default 5,000,000), OUT_DIR/text-tokenizer.json (a
      GPT-2-style byte-level BPE of about 8,000 tokens trained here on the text, with the added
      special token <|endoftext|>), OUT_DIR/text-llama3-tokenizer.json (the same in LLaMA-3's style:
      NFC, a Split of LLaMA-3's regex, ByteLevel without its regex, ignore_merges), OUT_DIR/smiles-vocab.json (the atom-level tokens of the
      SMILES by frequency, "[UNK]" first) and OUT_DIR/protein-vocab.json ("[UNK]", A-Z, a-z).
  tokenize_reference.py measure KIND OUT_DIR [REPETITIONS] [VARIANT]
      KIND text, text-llama3, smiles or protein. Encodes every record of OUT_DIR/KIND.txt (text.txt
      for text-llama3) REPETITIONS times
      (default 5, after one warm-up pass) in each mode (encode_batch, encode_batch_fast and
      encode in a loop, all with add_special_tokens=False) and prints one JSON line per mode:
      {"tool", "kind", "mode", "variant", "records", "bytes", "tokens", "cpu_seconds": [...],
      "wall_seconds": [...], "threads", "checksum"}.
      The tokenizers: text, OUT_DIR/text-tokenizer.json; text-llama3, OUT_DIR/text-llama3-tokenizer.json; smiles, WordLevel over smiles-vocab.json
      with a Split pre-tokenizer of the SMILES regex (behavior "isolated"); protein (VARIANT), "bpe"
      (default: a BPE model with no merges over protein-vocab.json and no pre-tokenizer, each
      character its token) or "split" (WordLevel with a Split on each character, isolated).
      Run it with RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false: "threads" is the most threads
      the process had while encoding and the CPU seconds count all of them.

The checksum (the same in the tagdata driver, Scripts/bench/tokenize_speed.swift): the ids of all
records in order, each record followed by the separator 2^31, as values v (id + 1, or the
separator); weights w(k) = (k * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) mod 2^64, then
w ^= w >> 29; the checksum is the sum of v * w(k) mod 2^64, in hexadecimal.
"""
import glob
import gzip
import json
import os
import re
import sys
import time

SMILES_REGEX = r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|\%[0-9]{2}|[0-9])"
TEXT_CODES = ("CC", "DE", "RT", "KW", "OS", "OC")
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def repeat(records, min_bytes):
    size = sum(len(r.encode()) + 1 for r in records)
    times = max(1, -(-min_bytes // max(size, 1)))
    return records * times


def write_lines(path, records):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(r + "\n")


def prepare(root, out, min_bytes):
    os.makedirs(out, exist_ok=True)
    # Text: UniProt free-text lines, joined per entry into paragraphs of about 800 characters, and
    # the sentences of the parallel text sample.
    text, seqs = [], []
    for path in sorted(glob.glob(os.path.join(root, "uniprot", "flat", "*"))):
        para, seq = [], None
        for line in open(path, encoding="utf-8", errors="replace"):
            code = line[:2]
            if code == "SQ":
                seq = []
            elif code == "//":
                if seq:
                    seqs.append("".join(seq))
                seq = None
                if para:
                    text.append(" ".join(para))
                para = []
            elif seq is not None and line.startswith("     "):
                seq.append(line.replace(" ", "").strip())
            elif code in TEXT_CODES:
                t = " ".join(line[5:].split())
                if t:
                    para.append(t)
                    if sum(len(p) + 1 for p in para) >= 800:
                        text.append(" ".join(para))
                        para = []
        if para:
            text.append(" ".join(para))
    with open(os.path.join(root, "tables", "parallel_text_sample.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            text += [cols[1], cols[3]]
    for path in sorted(glob.glob(os.path.join(root, "uniprot", "fasta", "*"))):
        seq = []
        for line in open(path, encoding="utf-8", errors="replace"):
            if line.startswith(">"):
                if seq:
                    seqs.append("".join(seq))
                seq = []
            else:
                seq.append(line.strip())
        if seq:
            seqs.append("".join(seq))
    with gzip.open(os.path.join(root, "smiles", "nextmove_chembl.smi.gz"), "rt", encoding="utf-8") as f:
        smiles = [l.split()[0] for l in f if l.split()]

    write_lines(os.path.join(out, "text.txt"), repeat(text, min_bytes))
    write_lines(os.path.join(out, "smiles.txt"), repeat(smiles, min_bytes))
    write_lines(os.path.join(out, "protein.txt"), repeat(seqs, min_bytes))

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(text, trainer)
    tok.save(os.path.join(out, "text-tokenizer.json"))
    # LLaMA-3 style: NFC, a Split with LLaMA-3's regex, ByteLevel without its regex, ignore_merges.
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=["<|begin_of_text|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(text, trainer)
    tok.save(os.path.join(out, "text-llama3-tokenizer.json"))

    counts = {}
    pattern = re.compile(SMILES_REGEX)
    for s in smiles:
        for t in pattern.findall(s):
            counts[t] = counts.get(t, 0) + 1
    vocab = {"[UNK]": 0}
    for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        vocab[t] = len(vocab)
    with open(os.path.join(out, "smiles-vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    vocab = {"[UNK]": 0}
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
    with open(os.path.join(out, "protein-vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f)
    sizes = {k: os.path.getsize(os.path.join(out, k + ".txt")) for k in ("text", "smiles", "protein")}
    print(json.dumps({"unique_records": {"text": len(text), "smiles": len(smiles), "protein": len(seqs)}, "bytes": sizes}))


def tokenizer(kind, out, variant):
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    if kind in ("text", "text-llama3"):
        return Tokenizer.from_file(os.path.join(out, kind + "-tokenizer.json"))
    vocab = json.load(open(os.path.join(out, kind + "-vocab.json"), encoding="utf-8"))
    if kind == "smiles":
        tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(SMILES_REGEX), behavior="isolated")
        return tok
    if variant == "split":
        tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
        return tok
    return Tokenizer(models.BPE(vocab, [], unk_token="[UNK]", fuse_unk=False))


def checksum(all_ids):
    import numpy as np
    parts = []
    for ids in all_ids:
        parts.append(np.asarray(ids, dtype=np.uint64) + np.uint64(1))
        parts.append(np.array([1 << 31], dtype=np.uint64))
    v = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        w = np.arange(len(v), dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)
        w ^= w >> np.uint64(29)
        return "%016x" % int((v * w).sum(dtype=np.uint64))


def threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def measure(kind, out, repetitions, variant):
    tok = tokenizer(kind, out, variant)
    with open(os.path.join(out, kind.split("-")[0] + ".txt"), encoding="utf-8") as f:
        records = f.read().split("\n")[:-1]
    size = sum(len(r.encode()) for r in records)
    modes = {
        "encode_batch": lambda: tok.encode_batch(records, add_special_tokens=False),
        "encode_batch_fast": lambda: tok.encode_batch_fast(records, add_special_tokens=False),
        "encode": lambda: [tok.encode(r, add_special_tokens=False) for r in records],
    }
    for mode, run in modes.items():
        most = threads()
        run()  # warm-up: the model's word cache
        most = max(most, threads())
        cpu, wall = [], []
        for _ in range(repetitions):
            c0, w0 = time.process_time(), time.perf_counter()
            encodings = run()
            c1, w1 = time.process_time(), time.perf_counter()
            cpu.append(c1 - c0)
            wall.append(w1 - w0)
            most = max(most, threads())
        ids = [e.ids for e in encodings]
        print(json.dumps({"tool": "tokenizers " + __import__("tokenizers").__version__, "kind": kind, "mode": mode,
                          "variant": variant if kind == "protein" else "", "records": len(records), "bytes": size,
                          "tokens": sum(len(x) for x in ids), "cpu_seconds": cpu, "wall_seconds": wall,
                          "threads": most, "checksum": checksum(ids)}), flush=True)
        del encodings, ids


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 5_000_000)
    elif len(sys.argv) >= 4 and sys.argv[1] == "measure":
        measure(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 5,
                sys.argv[5] if len(sys.argv) > 5 else "bpe")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
