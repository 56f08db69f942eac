"""RDKit's substructure match counts, for tagdata's SMARTS interop tests.

Usage: rdkit_smarts.py counts PATTERNS HPATTERNS OURS
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

Usage: rdkit_smarts.py mutated PATTERNS MOLECULES OURS
  PATTERNS   one SMARTS per line (mutated reference patterns).
  MOLECULES  one SMILES per line.
  OURS       one line per pattern: "ERR<TAB>position<TAB>message" when tagdata refuses it, "SKIP"
             when its search hit the step budget, else its counts on the molecules (comma-separated).
Prints, per pattern where the two differ:
  REFUSED<TAB>pattern<TAB>tagdata's message        (RDKit parses it, tagdata refuses it)
  ACCEPTED<TAB>pattern                             (tagdata parses it, RDKit refuses it)
  DIFF<TAB>pattern<TAB>smiles<TAB>ours<TAB>rdkit
then SUMMARY<TAB>patterns<TAB>parsed by both<TAB>comparisons<TAB>count disagreements
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


def mutated(patterns_path, molecules_path, ours_path):
    patterns = open(patterns_path, encoding="utf-8").read().split("\n")[:-1]
    smiles = [l.strip() for l in open(molecules_path, encoding="utf-8") if l.strip()]
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    ours = open(ours_path, encoding="utf-8").read().split("\n")[:-1]
    assert len(patterns) == len(ours), (len(patterns), len(ours))
    both = comparisons = disagreements = 0
    for s, o in zip(patterns, ours):
        p = Chem.MolFromSmarts(s)
        if o.startswith("ERR"):
            if p is not None:
                print(f"REFUSED\t{s}\t{o.split(chr(9), 2)[2]}")
            continue
        if p is None:
            print(f"ACCEPTED\t{s}")
            continue
        both += 1
        if o == "SKIP":
            continue
        for smi, m, n in zip(smiles, mols, o.split(",")):
            if m is None:
                continue
            comparisons += 1
            r = len(m.GetSubstructMatches(p))
            if r != int(n):
                disagreements += 1
                print(f"DIFF\t{s}\t{smi}\t{n}\t{r}")
    print(f"SUMMARY\t{len(patterns)}\t{both}\t{comparisons}\t{disagreements}")


if __name__ == "__main__":
    if sys.argv[1] == "counts":
        main(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "mutated":
        mutated(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
