"""RDKit's view of SMILES, for tagdata's interop tests.

Modes:
  check INPUT OURS     INPUT: one SMILES per line (text after the first blank ignored);
                       OURS: tagdata's canonical SMILES, one line per input line (empty = rejected).
                       Prints one TSV line per input: index, rdkit_ok, ours_ok, same_inchi,
                       same_string, input, ours, rdkit_canonical.
  variants INPUT N     For each SMILES RDKit accepts, N randomized SMILES (fixed seeds) plus
                       the Kekulé forms; prints index<TAB>variant lines.
"""
import sys

from rdkit import Chem, RDLogger, rdBase

RDLogger.DisableLog("rdApp.*")


def first_token(line):
    line = line.rstrip("\n")
    return line.split()[0] if line.split() else ""


def inchi(mol):
    try:
        return Chem.MolToInchi(mol)
    except Exception:
        return None


def check(input_path, ours_path):
    inputs = [first_token(l) for l in open(input_path, encoding="utf-8", errors="replace")]
    ours = [l.rstrip("\n") for l in open(ours_path, encoding="utf-8", errors="replace")]
    assert len(inputs) == len(ours), (len(inputs), len(ours))
    for i, (s, o) in enumerate(zip(inputs, ours)):
        if not s:
            continue
        m = Chem.MolFromSmiles(s)
        r_ok = m is not None
        o_ok = bool(o)
        same_inchi = same_string = ""
        can = ""
        if r_ok:
            can = Chem.MolToSmiles(m)
        if r_ok and o_ok:
            m2 = Chem.MolFromSmiles(o)
            if m2 is None:
                same_inchi = "0"
            else:
                a, b = inchi(m), inchi(m2)
                same_inchi = "1" if a == b else "0"
            same_string = "1" if o == can else "0"
        print(f"{i}\t{int(r_ok)}\t{int(o_ok)}\t{same_inchi}\t{same_string}\t{s}\t{o}\t{can}")


def variants(input_path, n):
    for i, line in enumerate(open(input_path, encoding="utf-8", errors="replace")):
        s = first_token(line)
        m = Chem.MolFromSmiles(s) if s else None
        if m is None:
            continue
        out = set()
        for seed in range(n):
            rdBase.SeedRandomNumberGenerator(seed + 1)
            out.add(Chem.MolToSmiles(m, doRandom=True, canonical=False))
        k = Chem.Mol(m)
        try:
            Chem.Kekulize(k, clearAromaticFlags=True)
            out.add(Chem.MolToSmiles(k, kekuleSmiles=True))
            for seed in range(3):
                out.add(Chem.MolToSmiles(k, kekuleSmiles=True, doRandom=True, canonical=False))
        except Exception:
            pass
        for v in sorted(out):
            print(f"{i}\t{v}")


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "variants":
        variants(sys.argv[2], int(sys.argv[3]))
