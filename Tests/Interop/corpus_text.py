"""The shipped corpora's material for tokenizer interop tests: free-text lines, SMILES and protein
sequences (shared by hf_tokenizers.py and hf_bpe_trained.py)."""
import glob
import gzip
import os


def corpus(root):
    """Free-text lines, SMILES and protein sequences of the shipped corpora."""
    text, seqs = [], []
    for path in sorted(glob.glob(os.path.join(root, "uniprot", "flat", "*"))):
        seq = None
        for line in open(path, encoding="utf-8", errors="replace"):
            code = line[:2]
            if code == "SQ":
                seq = []
            elif code == "//":
                if seq:
                    seqs.append("".join(seq))
                seq = None
            elif seq is not None and line.startswith("     "):
                seq.append(line.replace(" ", "").strip())
            elif code in ("CC", "DE", "RT", "RL", "KW", "OS", "OC", "FT", "GN", "RA"):
                t = line[5:].rstrip("\n")
                if t.strip():
                    text.append(t)
    smiles = []
    with gzip.open(os.path.join(root, "smiles", "nextmove_chembl.smi.gz"), "rt", encoding="utf-8") as f:
        smiles += [l.split()[0] for l in f if l.split()]
    for path in sorted(glob.glob(os.path.join(root, "smiles", "*.smi"))):
        smiles += [l.split()[0] for l in open(path, encoding="utf-8", errors="replace") if l.split()]
    return text, smiles, seqs
