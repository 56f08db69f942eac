"""RDKit's descriptors compared with tagdata's, for tagdata's interop tests.

Usage: rdkit_descriptors.py compare OURS
  OURS: TSV with a header `input<TAB>name...` (tagdata's descriptor names) and one row per
  molecule tagdata read, holding tagdata's values. The input is a SMILES, or `sdf:K:PATH` for
  the K-th (0-based) record of an SD file (records are the chunks between `$$$$` lines that are
  not blank), read with MolFromMolBlock (sanitized, hydrogens removed, as SDMolSupplier does).
  For each row RDKit reads the molecule (rows it cannot read are counted, not compared) and
  computes the same descriptors.
  Prints, per disagreement:  DIFF<TAB>name<TAB>smiles<TAB>ours<TAB>rdkit
  per value RDKit fails on:  RDKITERROR<TAB>name<TAB>input<TAB>ours<TAB>error (not compared)
  and per descriptor:        SUMMARY<TAB>name<TAB>agreeing<TAB>compared
  then:                      READ<TAB>rows<TAB>read_by_rdkit
Numbers agree within 1e-6 relative (plus 1e-9 absolute, for values at 0); counts and formulas
must be equal.
"""
import sys

from rdkit import Chem, RDLogger
from rdkit.Chem import QED, Crippen, Descriptors, Lipinski, rdMolDescriptors

RDLogger.DisableLog("rdApp.*")

FUNCTIONS = {
    "mol_wt": Descriptors.MolWt,
    "heavy_atom_mol_wt": Descriptors.HeavyAtomMolWt,
    "exact_mol_wt": Descriptors.ExactMolWt,
    "formula": rdMolDescriptors.CalcMolFormula,
    "heavy_atoms": Descriptors.HeavyAtomCount,
    "hbd": Lipinski.NumHDonors,
    "hba": Lipinski.NumHAcceptors,
    "nhoh_count": Lipinski.NHOHCount,
    "no_count": Lipinski.NOCount,
    "rotatable_bonds": Descriptors.NumRotatableBonds,
    "tpsa": lambda m: rdMolDescriptors.CalcTPSA(m),
    "tpsa_sp": lambda m: rdMolDescriptors.CalcTPSA(m, includeSandP=True),
    "logp": Crippen.MolLogP,
    "mr": Crippen.MolMR,
    "rings": rdMolDescriptors.CalcNumRings,
    "aromatic_rings": rdMolDescriptors.CalcNumAromaticRings,
    "aliphatic_rings": rdMolDescriptors.CalcNumAliphaticRings,
    "saturated_rings": rdMolDescriptors.CalcNumSaturatedRings,
    "fraction_csp3": rdMolDescriptors.CalcFractionCSP3,
    # QED.qed, QED.weights_max and QED.weights_none are QED.qed(mol, w) with the three weight
    # sets; the properties are computed once per molecule (see compare) and passed in.
    "qed": lambda m, p=None: QED.qed(m, w=QED.WEIGHT_MEAN, qedProperties=p),
    "qed_max": lambda m, p=None: QED.qed(m, w=QED.WEIGHT_MAX, qedProperties=p),
    "qed_none": lambda m, p=None: QED.qed(m, w=QED.WEIGHT_NONE, qedProperties=p),
}


def same(ours, theirs):
    if isinstance(theirs, str):
        return ours == theirs
    if isinstance(theirs, int):
        try:
            return int(ours) == theirs
        except ValueError:
            return False
    try:
        x = float(ours)
    except ValueError:
        return False
    return abs(x - theirs) <= 1e-6 * max(abs(x), abs(theirs)) + 1e-9


SDF_RECORDS = {}


def sdf_record(key):
    _, index, path = key.split(":", 2)
    if path not in SDF_RECORDS:
        chunks, current = [], []
        for line in open(path, encoding="utf-8", errors="replace").read().split("\n"):
            if line.rstrip("\r") == "$$$$":
                chunks.append("\n".join(current))
                current = []
            else:
                current.append(line)
        chunks.append("\n".join(current))
        SDF_RECORDS[path] = [c for c in chunks if c.strip()]
    return Chem.MolFromMolBlock(SDF_RECORDS[path][int(index)])


def compare(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    header = lines[0].split("\t")
    names = header[1:]
    agree = {n: 0 for n in names}
    compared = {n: 0 for n in names}
    rows = read = 0
    for line in lines[1:]:
        if not line:
            continue
        f = line.split("\t")
        rows += 1
        m = sdf_record(f[0]) if f[0].startswith("sdf:") else Chem.MolFromSmiles(f[0])
        if m is None:
            continue
        read += 1
        qedprops = None
        for n, ours in zip(names, f[1:]):
            try:
                if n.startswith("qed"):
                    if qedprops is None:
                        qedprops = QED.properties(m)
                    theirs = FUNCTIONS[n](m, qedprops)
                else:
                    theirs = FUNCTIONS[n](m)
            except (OverflowError, ValueError) as e:
                # RDKit fails (QED's math.exp overflows for a logP far below zero): not compared.
                print(f"RDKITERROR\t{n}\t{f[0]}\t{ours}\t{e}")
                continue
            if isinstance(theirs, bool):
                theirs = int(theirs)
            compared[n] += 1
            if same(ours, theirs):
                agree[n] += 1
            else:
                extra = ""
                if n.startswith("qed"):
                    extra = "\t" + repr(tuple(round(v, 4) for v in qedprops))
                print(f"DIFF\t{n}\t{f[0]}\t{ours}\t{theirs!r}{extra}")
    for n in names:
        print(f"SUMMARY\t{n}\t{agree[n]}\t{compared[n]}")
    print(f"READ\t{rows}\t{read}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "compare":
        sys.exit(__doc__)
    compare(sys.argv[2])
