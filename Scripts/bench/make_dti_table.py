"""Writes a TDC-DTI style table (Drug_ID,Drug,Target_ID,Target,Y) of distinct drug-target pairs.

Drugs: the ChEMBL SMILES of Corpora/smiles/nextmove_chembl.smi.gz; targets: the shipped TDC DTI
sample's targets and the UniProt FASTA entries of the corpora. Pairs are drawn without repetition
(seeded), Y is a random affinity written with three or four significant digits.

usage: make_dti_table.py OUT.csv ROWS SEED
"""
import csv
import gzip
import random
import sys


def fasta(path):
    name, seq = None, []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith(">"):
            if name:
                yield name, "".join(seq)
            head = line[1:].split()[0]
            name, seq = (head.split("|")[1] if head.count("|") >= 2 else head), []
        elif line:
            seq.append(line)
    if name:
        yield name, "".join(seq)


def main():
    out, rows, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    smiles = [l.split()[0] for l in gzip.open("Corpora/smiles/nextmove_chembl.smi.gz", "rt") if l.strip()]
    targets = {}
    with open("Corpora/tables/tdc_dti_sample.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            targets.setdefault(r["Target_ID"], r["Target"])
    for path in ["Corpora/uniprot/fasta/protein_lib.fa", "Corpora/uniprot/fasta/multi_ex.fasta"]:
        for name, seq in fasta(path):
            if seq.isalpha() and seq.isupper():
                targets.setdefault(name, seq)
    targets = sorted(targets.items())
    total = len(smiles) * len(targets)
    if rows > total:
        sys.exit(f"make_dti_table: at most {total} distinct pairs ({len(smiles)} drugs x {len(targets)} targets)")
    rng = random.Random(seed)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["Drug_ID", "Drug", "Target_ID", "Target", "Y"])
        for p in rng.sample(range(total), rows):
            d, t = divmod(p, len(targets))
            y = 10 ** rng.uniform(-1.0, 4.5)
            w.writerow([f"chembl_smi_{d}", smiles[d], targets[t][0], targets[t][1], f"{y:.{rng.choice((3, 4))}g}"])
    print(f"{out}: {rows} rows, {len(smiles)} drugs x {len(targets)} targets", file=sys.stderr)


if __name__ == "__main__":
    main()
