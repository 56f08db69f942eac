"""Hugging Face `tokenizers` as the reference of tagdata's byte-level BPE tokenizer (HFTokenizer).

Usage: hf_tokenizers.py CORPORA_DIR OUT_DIR [SEGMENTS_PER_KIND]
  Trains two byte-level BPE tokenizers (vocabulary 2000) on text made from CORPORA_DIR: UniProt
  free-text lines, SMILES and protein sequences. "gpt2": ByteLevel pre-tokenizer with GPT-2's
  regex, add_prefix_space false, merges saved as "a b" strings. "llama3": NFC, a Split with
  LLaMA-3's regex then ByteLevel(use_regex=false), ignore_merges, merges as [a, b] pairs. Four
  more configurations reuse their models: "gpt2-prefix" (add_prefix_space true), "smollm"
  (SmolLM's Digits(individual_digits) before ByteLevel), "gpt2-split" (GPT-2's regex in a Split
  before ByteLevel(use_regex=false)) and "llama3-merges" (no normalizer, ignore_merges false).
  Three SentencePiece-style configurations share one BPE model trained with byte_fallback and
  fuse_unk (vocabulary 2000 plus <unk>, <s>, </s> and the 256 <0xNN> byte tokens, alphabet limited
  to 120 characters so that rarer ones fall back to bytes): "llama2" (normalizer Prepend("▁") then
  Replace(" " -> "▁"), no pre-tokenizer, decoder Replace/ByteFallback/Fuse/Strip), "mistral"
  (Metaspace pre-tokenizer and decoder, prepend_scheme "first", split false) and
  "metaspace-split" (Metaspace "always" with split, the LLaMA-2 decoder).
  Each has added tokens, special and not (<SMILES>, <Protein>, <TAG 0>, single_word, lstrip,
  rstrip).
  Writes OUT_DIR/<name>.json for each configuration and OUT_DIR/segments.jsonl: a first line
  {"configs": [...], "vocab_size": {...}}, then one line per segment: {"kind", "text", "ids":
  {config: ids}, "decoded": {config: decode(ids, skip_special_tokens=False)}, "tails": {...}}
  where "decoded" holds only the configurations whose decoding is not the text, and "tails" the
  decoding of the ids less the first (where it has U+FFFD, and for every tenth segment).
  SEGMENTS_PER_KIND (default 10000) segments of each kind: text, smiles, protein, built with a
  fixed seed to hold non-ASCII letters, emoji, combining marks, CRLF, tabs, long white space,
  digit runs, contractions, Unicode white space and added tokens inside the text.
  Exit 0: written; 3: `tokenizers` is missing.
"""
import glob
import gzip
import json
import os
import random
import sys

try:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
except ImportError as e:  # the test skips, or fails under TAGDATA_REQUIRE_INTEROP=1
    print(f"MISSING {e.name}: pip install tokenizers", flush=True)
    sys.exit(3)

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<|endoftext|>", "<SMILES>", "</SMILES>", "<Protein>", "</Protein>"]
ADDED = [AddedToken("<TAG 0>"), AddedToken("<TAG 1>", special=True), AddedToken("<word>", single_word=True),
         AddedToken("<L>", lstrip=True), AddedToken("<R>", rstrip=True), AddedToken("Ωmega"),
         AddedToken("ﬁx", normalized=True)]


from corpus_text import corpus  # noqa: E402 (the shared corpus reader beside this script)


# Awkward material mixed into the segments.
EXTRA = ["café", "naïve", "e\u0301", "A\u030A", "\u1100\u1161", "Ωmega", "ﬁx", "日本語のテキスト", "Ελληνικά", "русский",
         "עברית", "العربية", "١٢٣٤", "½", "Ⅻ", "😀", "👩‍🔬", "🇫🇷", "🧬", "\u200b", "\u00a0", "\u2028", "\u3000", "\u0085",
         "\ufeff", "\u00ad", "\t", "\t\t", "\r\n", "\n", "\r", "\n\n\n", " \n ", "      ", "  \t \n", "0123456789",
         "3.14159", "1e-10", "12,345,678", "it's", "IT'S", "we're", "they've", "I'm", "you'll", "he'd", "'S", "'ſ",
         "don't", "''", "'", "Ŀl", "İstanbul", "ß", "ǅ", "ﬅ", "K", "Å", "x²", "∑", "→", "µ", "\u0301", "\u0300a",
         "<TAG 0>", "<TAG 1>", "<word>", "x<word>y", " <word> ", "<L>", "  <L>", "<R>  ", "<SMILES>", "</SMILES>",
         "<Protein>", "</Protein>", "<|endoftext|>", "<TAG", "TAG 0>", "_<word>_", "<TAG 0><TAG 0>", "ﬁ", "fi",
         "½<word>²", "a\u0301<word>", "Ⅻ<word>", "<word>‿", "x\u200d<word>", "-<word>-", "١<word>", "\x00", "\x7f", "\x1b[0m", "~", "\\", "\"quoted\"", "a  b", "a   b", "end   ", "   start",
         "\u2581", "\u2581\u2581x", "x \u2581 y", "<0x41>", "<0xC3><0xA9>", "<unk>", "<s>", "</s>", " \u0301", "\u2581\u0301",
         "\U0010FFFF", "\ue000", "\U0001F3FB", "\u0000\u0000", "<s> <s>", "\uacc4\u11b5", "\uac00\u11a8"]


def segments(rng, text, smiles, seqs, n):
    out = []
    for k in range(n):  # text
        parts = []
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            if r < 0.55:
                parts.append(rng.choice(text))
            elif r < 0.9:
                parts.append(rng.choice(EXTRA))
            else:
                parts.append("".join(rng.choice(EXTRA) for _ in range(rng.randint(2, 6))))
        sep = rng.choice([" ", "", "\n", "\r\n", "\t", "  ", " " * rng.randint(3, 20), "\n\n"])
        out.append(("text", sep.join(parts)))
    for k in range(n):  # smiles
        s = rng.choice(smiles)
        r = rng.random()
        if r < 0.2:
            s = "<SMILES>" + s + "</SMILES>"
        elif r < 0.3:
            s = "<SMILES> " + s + " </SMILES>"
        elif r < 0.4:
            s = s + "." + rng.choice(smiles)
        elif r < 0.45:
            s = s + rng.choice(["\n", "\r\n", " ", "\t"]) + rng.choice(smiles)
        elif r < 0.5:
            s = "The molecule " + s + " is " + rng.choice(EXTRA)
        out.append(("smiles", s))
    for k in range(n):  # protein
        q = rng.choice(seqs)
        a = rng.randrange(len(q))
        s = q[a:a + rng.randint(1, 300)]
        r = rng.random()
        if r < 0.2:
            s = "<Protein>" + s + "</Protein>"
        elif r < 0.3:
            s = " ".join(s[i:i + 10] for i in range(0, len(s), 10))
        elif r < 0.35:
            s = "\n".join(s[i:i + 60] for i in range(0, len(s), 60))
        elif r < 0.4:
            s = s.lower()
        elif r < 0.45:
            s = "<TAG 0>" + s + "<TAG 1>"
        out.append(("protein", s))
    return out


def train(lines, pre, normalizer=None, ignore_merges=False):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    tok.add_tokens(ADDED)
    return tok


BYTES = ["<0x%02X>" % b for b in range(256)]
SP_SPECIAL = ["<unk>", "<s>", "</s>"]


def train_sentencepiece(lines):
    """LLaMA-2 style: BPE with byte fallback and fuse_unk, Prepend and Replace, no pre-tokenizer."""
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    # The byte tokens come right after <unk>, <s> and </s>, as in LLaMA-2; a small alphabet leaves
    # rarer characters to the byte fallback.
    trainer = trainers.BpeTrainer(vocab_size=2000 + 259, special_tokens=SP_SPECIAL + BYTES, show_progress=False,
                                  limit_alphabet=120)
    tok.train_from_iterator(lines, trainer)
    doc = json.loads(tok.to_str())
    # The byte tokens stay in the model's vocabulary only, as in LLaMA-2's tokenizer.json.
    doc["added_tokens"] = [t for t in doc["added_tokens"] if t["content"] not in BYTES]
    for t in doc["added_tokens"]:
        t["normalized"] = False
    tok = Tokenizer.from_str(json.dumps(doc))
    tok.add_tokens(ADDED)
    return json.loads(tok.to_str())


def main():
    root, out_dir = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    os.makedirs(out_dir, exist_ok=True)
    text, smiles, seqs = corpus(root)
    rng = random.Random(20261205)
    lines = text + smiles[:20000] + seqs + [rng.choice(EXTRA) + " " + rng.choice(text) for _ in range(2000)]
    gpt2 = train(lines, pre_tokenizers.ByteLevel(add_prefix_space=False))
    llama = train(lines, pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), normalizers.NFC(), ignore_merges=True)
    docs = {}
    g = json.loads(gpt2.to_str())
    assert g["pre_tokenizer"]["use_regex"] is True
    gp = json.loads(json.dumps(g))
    gp["pre_tokenizer"]["add_prefix_space"] = True
    g["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in g["model"]["merges"]]  # legacy strings
    sm = json.loads(json.dumps(gp))
    sm["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    gs = json.loads(json.dumps(gp))
    gs["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": GPT2}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    docs["gpt2"], docs["gpt2-prefix"], docs["smollm"], docs["gpt2-split"] = g, gp, sm, gs
    lj = json.loads(llama.to_str())
    assert lj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] == LLAMA3
    lm = json.loads(json.dumps(lj))
    lm["normalizer"] = None
    lm["model"]["ignore_merges"] = False
    docs["llama3"], docs["llama3-merges"] = lj, lm
    sp = train_sentencepiece(lines)
    assert sp["model"]["byte_fallback"] is True and sp["pre_tokenizer"] is None
    # Mistral style: no normalizer, Metaspace(prepend_scheme "first", split false) and its decoder.
    ms = json.loads(json.dumps(sp))
    ms["normalizer"] = None
    ms["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    ms["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    # Metaspace "always" with split, the LLaMA-2 decoder.
    ma = json.loads(json.dumps(ms))
    ma["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    ma["decoder"] = sp["decoder"]
    docs["llama2"], docs["mistral"], docs["metaspace-split"] = sp, ms, ma
    toks = {}
    for name, doc in docs.items():
        path = os.path.join(out_dir, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        toks[name] = Tokenizer.from_file(path)  # the reference reads what Swift reads
    segs = segments(rng, text, smiles, seqs, n)
    names = list(docs)
    with open(os.path.join(out_dir, "segments.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"configs": names, "vocab_size": {k: toks[k].get_vocab_size() for k in names}}) + "\n")
        encoded = {k: toks[k].encode_batch([s for _, s in segs], add_special_tokens=False) for k in names}
        for i, (kind, s) in enumerate(segs):
            ids = {k: encoded[k][i].ids for k in names}
            decoded = {k: toks[k].decode(ids[k], skip_special_tokens=False) for k in names}
            decoded = {k: d for k, d in decoded.items() if d != s}  # only where it is not the text
            record = {"kind": kind, "text": s, "ids": ids, "decoded": decoded}
            # The ids less the first: a cut character decodes to U+FFFD.
            tails = {k: toks[k].decode(ids[k][1:], skip_special_tokens=False) for k in names}
            tails = {k: t for k, t in tails.items() if "\ufffd" in t or i % 10 == 0}
            if tails:
                record["tails"] = tails
            f.write(json.dumps(record, ensure_ascii=True) + "\n")
    print(f"WROTE configs={len(names)} segments={len(segs)} text_lines={len(text)} smiles={len(smiles)} proteins={len(seqs)}")


if __name__ == "__main__":
    main()
