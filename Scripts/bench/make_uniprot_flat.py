"""Writes a UniProt flat file of at least SIZE_MB megabytes made from the shipped flat files:
copies of every entry with a fresh accession and three point mutations in the sequence (CRC64
recomputed with Biopython), so that a catalog sees distinct proteins, as a real dump gives it.

usage: make_uniprot_flat.py OUT SIZE_MB
"""
import glob
import random
import sys

from Bio.SeqUtils.CheckSum import crc64

path, target = sys.argv[1], int(sys.argv[2]) * 1_000_000
entries = []
for f in sorted(glob.glob("Corpora/uniprot/flat/*")):
    text = open(f, encoding="latin-1").read()
    entries += [e + "//\n" for e in text.split("//\n") if e.strip().startswith("ID")]
rng = random.Random(7)
aa = "ACDEFGHIKLMNPQRSTVWY"
written, copy = 0, 0
with open(path, "w", encoding="latin-1") as out:
    while written < target:
        for e in entries:
            lines = e.split("\n")
            seq_start = next(i for i, l in enumerate(lines) if l.startswith("SQ   "))
            seq = "".join("".join(l.split()) for l in lines[seq_start + 1:] if l.startswith("     "))
            s = list(seq)
            for _ in range(3):
                s[rng.randrange(len(s))] = rng.choice(aa)
            seq = "".join(s)
            sq = lines[seq_start].split()
            lines[seq_start] = f"SQ   SEQUENCE {len(seq):5d} AA; {sq[4]:>6} MW;  {crc64(seq)[4:]} CRC64;"
            body = ["     " + " ".join(seq[i + j:i + j + 10] for j in range(0, 60, 10) if seq[i + j:i + j + 10])
                    for i in range(0, len(seq), 60)]
            head = list(lines[:seq_start])
            for i, l in enumerate(head):
                if l.startswith("AC   "):
                    # One letter per block of 100,000 copies: X00000-X99999, then Y..., Z..., ...
                    letter = "XYZWVUTS"[copy // 100000 % 8]
                    head[i] = "AC   %s%05d%s" % (letter, copy % 100000, l[5:].split(";")[0][-2:] + ";")
                    break
            text = "\n".join(head + [lines[seq_start]] + body + ["//", ""])
            out.write(text)
            written += len(text)
            copy += 1
print(f"{path}: {written/1e6:.1f} MB, {copy} entries", file=sys.stderr)
