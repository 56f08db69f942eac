"""RDKit's substructure match counts, for tagdata's SMARTS interop test.

Usage: rdkit_smarts.py PATTERNS HPATTERNS OURS
  PATTERNS   one SMARTS per line, matched on the molecule as read (MolFromSmiles).
  HPATTERNS  one SMARTS per line, matched on Chem.AddHs(molecule) (Crippen typing's view).
  OURS       one line per molecule: SMILES, TAB, tagdata's number of graph atoms, TAB, tagdata's
             counts for PATTERNS (comma-separated), TAB, tagdata's counts for HPATTERNS.
Counts are len(mol.GetSubstructMatches(pattern)) with RDKit's defaults (unique atom sets,
maxMatches=1000). Prints one line per disagreement:
  DIFF<TAB>pattern<TAB>smiles<TAB>ours<TAB>rdkit<TAB>explicit-H (0/1)
Molecules whose graph differs between the two SMILES readers (RDKit keeps an [H] atom that
tagdata folds into a count, or the reverse) are not SMARTS questions; each is listed as
  GRAPH<TAB>smiles<TAB>tagdata atoms<TAB>RDKit atoms
then a summary:
  SUMMARY<TAB>molecules compared<TAB>molecules RDKit could not read<TAB>comparisons<TAB>disagreements<TAB>graph differences
"""
import sys

from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")


def read_patterns(path):
    out = []
    for line in open(path, encoding="utf-8"):
        s = line.rstrip("\n")
        p = Chem.MolFromSmarts(s)
        if p is None:
            sys.exit(f"RDKit cannot parse pattern {s!r}")
        out.append((s, p))
    return out


def main(patterns_path, hpatterns_path, ours_path):
    patterns = read_patterns(patterns_path)
    hpatterns = read_patterns(hpatterns_path)
    molecules = unread = comparisons = disagreements = graphs = 0
    for line in open(ours_path, encoding="utf-8"):
        fields = line.rstrip("\n").split("\t")
        smiles = fields[0]
        atoms = int(fields[1])
        ours = [int(x) for x in fields[2].split(",")]
        ours_h = [int(x) for x in fields[3].split(",")] if fields[3] else []
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            unread += 1
            continue
        if mol.GetNumAtoms() != atoms:
            graphs += 1
            print(f"GRAPH\t{smiles}\t{atoms}\t{mol.GetNumAtoms()}")
            continue
        molecules += 1
        for (s, p), n in zip(patterns, ours):
            r = len(mol.GetSubstructMatches(p))
            comparisons += 1
            if r != n:
                disagreements += 1
                print(f"DIFF\t{s}\t{smiles}\t{n}\t{r}\t0")
        if hpatterns:
            molh = Chem.AddHs(mol)
            for (s, p), n in zip(hpatterns, ours_h):
                r = len(molh.GetSubstructMatches(p))
                comparisons += 1
                if r != n:
                    disagreements += 1
                    print(f"DIFF\t{s}\t{smiles}\t{n}\t{r}\t1")
    print(f"SUMMARY\t{molecules}\t{unread}\t{comparisons}\t{disagreements}\t{graphs}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
