"""Hugging Face `tokenizers` as the reference of tagdata's BPE trainer (BPETrainer): does the library
read the tokenizer.json that BPETrainer writes, and give the ids HFTokenizer gives?

Usage:
  hf_bpe_trained.py prepare CORPORA_DIR OUT_DIR [SEGMENTS_PER_KIND]
    Writes OUT_DIR/train.jsonl, the training texts (one JSON string a line: UniProt free-text
    lines, SMILES, protein sequences of CORPORA_DIR, and awkward text), and OUT_DIR/segments.jsonl,
    the texts to encode ({"kind", "text"} a line; SEGMENTS_PER_KIND, default 4000, of each kind:
    text, smiles, protein, built with a fixed seed to hold non-ASCII letters, emoji, combining
    marks, CRLF, tabs, long white space, digit runs, contractions and special tokens). Trains
    `tokenizers`' own BpeTrainer on train.jsonl (vocab_size VOCAB, min_frequency 2, the special
    tokens, the byte-level alphabet), for comparison: OUT_DIR/hf-gpt2.json with the ByteLevel
    pre-tokenizer (GPT-2's regex), OUT_DIR/hf-llama3.json with LLaMA-3's Split before
    ByteLevel(use_regex=false).
  hf_bpe_trained.py encode OUT_DIR
    Reads OUT_DIR/ours-gpt2.json and ours-llama3.json (written by BPETrainer) with
    Tokenizer.from_file, encodes every segment (add_special_tokens=False) into OUT_DIR/ids.jsonl
    ({"gpt2": [...], "llama3": [...]} a line, in segment order) and prints how many merges are the
    same as in hf-gpt2.json and hf-llama3.json (first 500, and all).
  Exit 0: done; 3: `tokenizers` is missing.
"""
import glob
import gzip
import json
import os
import random
import sys

try:
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, decoders, trainers
except ImportError as e:  # the test skips, or fails under TAGDATA_REQUIRE_INTEROP=1
    print(f"MISSING {e.name}: pip install tokenizers", flush=True)
    sys.exit(3)

VOCAB = 2000
CONFIGS = ["gpt2", "llama3"]
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<|endoftext|>", "<SMILES>", "</SMILES>", "<Protein>", "</Protein>"]


from corpus_text import corpus  # noqa: E402 (the shared corpus reader beside this script)


EXTRA = ["café", "naïve", "e\u0301", "A\u030A", "\u1100\u1161", "日本語のテキスト", "Ελληνικά", "русский", "עברית",
         "العربية", "١٢٣٤", "½", "Ⅻ", "😀", "👩‍🔬", "🇫🇷", "🧬", "\u200b", "\u00a0", "\u2028", "\u3000", "\u0085",
         "\ufeff", "\u00ad", "\t", "\t\t", "\r\n", "\n", "\r", "\n\n\n", " \n ", "      ", "  \t \n", "0123456789",
         "3.14159", "1e-10", "12,345,678", "it's", "IT'S", "we're", "they've", "I'm", "you'll", "he'd", "'S",
         "don't", "''", "'", "İstanbul", "ß", "ǅ", "K", "Å", "x²", "∑", "→", "µ", "\u0301", "\x00", "\x7f",
         "\x1b[0m", "~", "\\", "\"quoted\"", "a  b", "a   b", "end   ", "   start", "<|endoftext|>", "<SMILES>",
         "</SMILES>", "<Protein>", "</Protein>", "<SMILES", "x<|endoftext|>y", "\U0010FFFF", "\ue000", "\U0001F3FB"]


def segments(rng, text, smiles, seqs, n):
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            if r < 0.6:
                parts.append(rng.choice(text))
            elif r < 0.9:
                parts.append(rng.choice(EXTRA))
            else:
                parts.append("".join(rng.choice(EXTRA) for _ in range(rng.randint(2, 6))))
        sep = rng.choice([" ", "", "\n", "\r\n", "\t", "  ", " " * rng.randint(3, 40), "\n\n"])
        out.append(("text", sep.join(parts)))
    for _ in range(n):
        s = rng.choice(smiles)
        r = rng.random()
        if r < 0.2:
            s = "<SMILES>" + s + "</SMILES>"
        elif r < 0.3:
            s = s + "." + rng.choice(smiles)
        elif r < 0.4:
            s = s + rng.choice(["\n", "\r\n", " ", "\t"]) + rng.choice(smiles)
        elif r < 0.45:
            s = "The molecule " + s + " is " + rng.choice(EXTRA)
        out.append(("smiles", s))
    for _ in range(n):
        q = rng.choice(seqs)
        a = rng.randrange(len(q))
        s = q[a:a + rng.randint(1, 400)]
        r = rng.random()
        if r < 0.2:
            s = "<Protein>" + s + "</Protein>"
        elif r < 0.3:
            s = " ".join(s[i:i + 10] for i in range(0, len(s), 10))
        elif r < 0.35:
            s = "\n".join(s[i:i + 60] for i in range(0, len(s), 60))
        elif r < 0.4:
            s = s.lower()
        out.append(("protein", s))
    return out


def prepare(root, out_dir, n):
    os.makedirs(out_dir, exist_ok=True)
    text, smiles, seqs = corpus(root)
    rng = random.Random(20261206)
    lines = text + smiles[:20000] + seqs + [rng.choice(EXTRA) + " " + rng.choice(text) for _ in range(2000)]
    with open(os.path.join(out_dir, "train.jsonl"), "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=True) + "\n")
    with open(os.path.join(out_dir, "segments.jsonl"), "w", encoding="utf-8") as f:
        for kind, s in segments(rng, text, smiles, seqs, n):
            f.write(json.dumps({"kind": kind, "text": s}, ensure_ascii=True) + "\n")
    for name in CONFIGS:
        tok = Tokenizer(models.BPE())
        if name == "gpt2":
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        else:
            tok.pre_tokenizer = pre_tokenizers.Sequence([
                pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, special_tokens=SPECIAL, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(lines, trainer)
        tok.save(os.path.join(out_dir, f"hf-{name}.json"))
    print(f"PREPARED lines={len(lines)} text={len(text)} smiles={len(smiles)} proteins={len(seqs)} vocab={VOCAB}")


def encode(out_dir):
    segs = [json.loads(l)["text"] for l in open(os.path.join(out_dir, "segments.jsonl"), encoding="utf-8")]
    ids = {}
    for name in CONFIGS:
        ours_path = os.path.join(out_dir, f"ours-{name}.json")
        tok = Tokenizer.from_file(ours_path)
        ids[name] = [e.ids for e in tok.encode_batch(segs, add_special_tokens=False)]
        ours = json.load(open(ours_path, encoding="utf-8"))
        theirs = json.load(open(os.path.join(out_dir, f"hf-{name}.json"), encoding="utf-8"))
        om = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in ours["model"]["merges"]]
        tm = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in theirs["model"]["merges"]]
        first = sum(1 for a, b in zip(om[:500], tm[:500]) if a == b)
        same = sum(1 for a, b in zip(om, tm) if a == b)
        prefix = next((i for i, (a, b) in enumerate(zip(om, tm)) if a != b), min(len(om), len(tm)))
        common = len(set(om) & set(tm))
        print(f"{name}: vocab={tok.get_vocab_size()} (tokenizers' trainer: {len(theirs['model']['vocab'])}); "
              f"merges ours={len(om)} tokenizers={len(tm)}, same rank in the first 500: {first}/500, "
              f"same rank overall: {same}, identical prefix: {prefix}, in both lists: {common}, "
              f"same vocabulary: {ours['model']['vocab'] == theirs['model']['vocab']}")
    with open(os.path.join(out_dir, "ids.jsonl"), "w", encoding="utf-8") as f:
        for k in range(len(segs)):
            f.write(json.dumps({name: ids[name][k] for name in CONFIGS}) + "\n")
    print(f"ENCODED segments={len(segs)}")


def main():
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 4000)
    elif sys.argv[1] == "encode":
        encode(sys.argv[2])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")


if __name__ == "__main__":
    main()
