"""RDKit's Murcko scaffolds and Morgan fingerprints, for tagdata's scaffold interop tests.

Modes:
  scaffolds OURS   OURS: TSV, one line per input molecule that tagdata read:
                   index, input SMILES, our scaffold SMILES, our generic scaffold SMILES.
                   For every input RDKit reads too, compares (by InChI, RDKit reading our SMILES)
                   with MurckoScaffold.GetScaffoldForMol and MakeScaffoldGeneric of RDKit's own
                   molecule. Prints one line per disagreement (kind, input, ours, RDKit's) and a
                   last line: SUMMARY followed by key=value fields.
  features OURS PAIRS
                   OURS: TSV index, input SMILES, our number of distinct radius-2 features, and
                   of radius-3 features.
                   PAIRS: TSV i, j, our Tanimoto (2048 bits), indices into OURS' lines.
                   Compares the feature count with len(GetMorganFingerprint(mol, 2)
                   .GetNonzeroElements()) and our Tanimoto with RDKit's Morgan radius 2, 2048 bits;
                   prints disagreements and a SUMMARY line (Pearson correlation).
"""
import math
import zlib
import sys

from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, rdFingerprintGenerator, DataStructs
from rdkit.Chem.Scaffolds import MurckoScaffold

RDLogger.DisableLog("rdApp.*")


def inchi(mol):
    if mol is None:
        return None
    if mol.GetNumAtoms() == 0:
        return ""
    try:
        return Chem.MolToInchi(mol)
    except Exception:
        return None


NON_METALS = {0, 1, 2, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 33, 34, 35, 36, 52, 53, 54, 85, 86}


def has_metal(mol):
    """Organometallics and metal complexes: the readers differ there (hydrogens and radicals of
    atoms bonded to metals), and so do the scaffolds; they are counted apart."""
    return any(a.GetAtomicNum() not in NON_METALS for a in mol.GetAtoms())


def same_without_radicals(ours, theirs_smiles):
    if ours is None or not theirs_smiles:
        return False
    g = Chem.RWMol(Chem.MolFromSmiles(theirs_smiles))
    for a in g.GetAtoms():
        a.SetNumRadicalElectrons(0)
        a.SetNoImplicit(False)
        a.SetNumExplicitHs(0)
    Chem.SanitizeMol(g)
    return Chem.MolToSmiles(g) == Chem.MolToSmiles(ours)


def read_ours(path):
    rows = []
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        rows.append(f)
    return rows


def scaffolds(ours_path):
    n = rdkit_unread = rdkit_failed = generic_rdkit_failed = 0
    same = same_rt_only = differ = same_smiles = 0
    gsame = gdiff = 0
    differ_metal = gdiff_metal = gdiff_radical = 0
    empty = 0
    for f in read_ours(ours_path):
        idx, smi, ours, ours_g = f[0], f[1], f[2], f[3]
        m = Chem.MolFromSmiles(smi)
        if m is None:
            rdkit_unread += 1
            continue
        n += 1
        try:
            sc = MurckoScaffold.GetScaffoldForMol(m)
        except Exception:
            rdkit_failed += 1
            print(f"RDKIT_FAILED\t{idx}\t{smi}\t{ours}")
            continue
        ref = inchi(sc)
        if ref is None:
            # RDKit's scaffold has no InChI (RDKit cannot kekulize its own scaffold).
            rdkit_failed += 1
            print(f"RDKIT_FAILED\t{idx}\t{smi}\t{ours}\t{Chem.MolToSmiles(sc)}")
        else:
            if ref == "":
                empty += 1
            om = Chem.MolFromSmiles(ours) if ours else Chem.Mol()
            mine = inchi(om) if ours else ""
            if om is not None and Chem.MolToSmiles(om) == Chem.MolToSmiles(sc):
                same_smiles += 1
            elif mine == ref:
                # Same InChI, another RDKit string: aromatic flags RDKit kept from the whole
                # molecule (it does not perceive the scaffold anew), or stereo InChI leaves out.
                print(f"SAME_INCHI_OTHER_RDKIT_SMILES\t{idx}\t{smi}\t{Chem.MolToSmiles(om)}\t{Chem.MolToSmiles(sc)}")
            if mine == ref:
                same += 1
            else:
                rs = Chem.MolToSmiles(sc)
                rt = inchi(Chem.MolFromSmiles(rs))
                if mine is not None and mine == rt:
                    # RDKit's own scaffold SMILES reads back to the same InChI as ours; its
                    # molecule object holds stereo that no SMILES (RDKit's either) carries.
                    same_rt_only += 1
                    print(f"SAME_AS_RDKIT_SMILES_ONLY\t{idx}\t{smi}\t{ours}\t{rs}\t{ref}\t{mine}")
                elif has_metal(m):
                    differ_metal += 1
                    print(f"SCAFFOLD_DIFFERS_METAL\t{idx}\t{smi}\t{ours}\t{rs}\t{ref}\t{mine}")
                else:
                    differ += 1
                    print(f"SCAFFOLD_DIFFERS\t{idx}\t{smi}\t{ours}\t{rs}\t{ref}\t{mine}")
        # Generic framework.
        if sc.GetNumAtoms() == 0:
            g_smiles = ""
        else:
            try:
                g_smiles = Chem.MolToSmiles(MurckoScaffold.MakeScaffoldGeneric(sc))
            except Exception:
                generic_rdkit_failed += 1
                continue
        if ours_g == g_smiles:
            gsame += 1
            continue
        og = Chem.MolFromSmiles(ours_g) if ours_g else None
        if og is not None and Chem.MolToSmiles(og) == g_smiles:
            gsame += 1
            continue
        gm = Chem.MolFromSmiles(g_smiles) if g_smiles else Chem.Mol()
        if (inchi(og) if ours_g else "") == inchi(gm) and inchi(gm) is not None:
            gsame += 1
        elif any(a.GetNumRadicalElectrons() for a in m.GetAtoms()) and same_without_radicals(og, g_smiles):
            # RDKit's reader gives some bracket atoms radicals where tagdata's does not ([I] with
            # two bonds); MakeScaffoldGeneric keeps radicals, so the generic carbons differ.
            gdiff_radical += 1
            print(f"GENERIC_DIFFERS_RADICAL\t{idx}\t{smi}\t{ours_g}\t{g_smiles}")
        elif has_metal(m):
            gdiff_metal += 1
            print(f"GENERIC_DIFFERS_METAL\t{idx}\t{smi}\t{ours_g}\t{g_smiles}")
        else:
            gdiff += 1
            print(f"GENERIC_DIFFERS\t{idx}\t{smi}\t{ours_g}\t{g_smiles}")
    print(f"SUMMARY\tcompared={n}\trdkit_unread={rdkit_unread}\trdkit_failed={rdkit_failed}\tsame={same}"
          f"\tsame_rdkit_canonical_smiles={same_smiles}\tsame_as_rdkit_smiles_only={same_rt_only}\tdiffer={differ}\tdiffer_metal={differ_metal}\tempty={empty}"
          f"\tgeneric_rdkit_failed={generic_rdkit_failed}\tgeneric_same={gsame}\tgeneric_differ={gdiff}"
          f"\tgeneric_differ_metal={gdiff_metal}\tgeneric_differ_radical={gdiff_radical}")


def ecfp_invariants(mol):
    """ECFP's atom invariants as tagdata's Fingerprint defines them (heavy degree, heavy valence,
    atomic number, mass number, charge, hydrogens, ring membership), as 32-bit numbers."""
    out = []
    for a in mol.GetAtoms():
        heavy = sum(1 for n in a.GetNeighbors() if n.GetAtomicNum() != 1)
        hs = a.GetTotalNumHs()
        key = (heavy, a.GetTotalValence() - hs, a.GetAtomicNum(), a.GetIsotope(), a.GetFormalCharge(), hs,
               1 if a.IsInRing() else 0)
        out.append(zlib.crc32(repr(key).encode()))
    return out


def features(ours_path, pairs_path):
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    mols = {}
    n = same = differ = isotope_differ = metal_differ = invariant_differ = same_ecfp = same_ecfp3 = 0
    for f in read_ours(ours_path):
        idx, smi, count = f[0], f[1], int(f[2])
        m = Chem.MolFromSmiles(smi)
        if m is None:
            continue
        mols[idx] = m
        n += 1
        theirs = len(gen.GetSparseCountFingerprint(m).GetNonzeroElements())
        # RDKit's Morgan algorithm fed ECFP's invariants (ours): checks the iteration and the
        # removal of duplicate environments apart from the choice of invariants.
        ecfp = len(AllChem.GetMorganFingerprint(m, 2, invariants=ecfp_invariants(m)).GetNonzeroElements())
        if ecfp == count:
            same_ecfp += 1
        if len(f) > 3:
            ecfp3 = len(AllChem.GetMorganFingerprint(m, 3, invariants=ecfp_invariants(m)).GetNonzeroElements())
            if ecfp3 == int(f[3]):
                same_ecfp3 += 1
            elif not has_metal(m):
                print(f"FEATURES_RADIUS3_DIFFER\t{idx}\t{smi}\t{f[3]}\t{ecfp3}")
        if theirs == count:
            same += 1
        elif has_metal(m):
            metal_differ += 1
            print(f"FEATURES_DIFFER_METAL\t{idx}\t{smi}\t{count}\t{theirs}\t{ecfp}")
        elif ecfp == count:
            # Only the invariants differ: ECFP's heavy valence or mass number, which RDKit's
            # default invariants leave out.
            if any(a.GetIsotope() for a in m.GetAtoms()):
                isotope_differ += 1
            else:
                invariant_differ += 1
            print(f"FEATURES_DIFFER_INVARIANTS\t{idx}\t{smi}\t{count}\t{theirs}\t{ecfp}")
        else:
            differ += 1
            print(f"FEATURES_DIFFER\t{idx}\t{smi}\t{count}\t{theirs}\t{ecfp}")
    fps = {}
    xs, ys = [], []
    for line in open(pairs_path):
        i, j, t = line.rstrip("\n").split("\t")
        if i not in mols or j not in mols:
            continue
        for k in (i, j):
            if k not in fps:
                fps[k] = gen.GetFingerprint(mols[k])
        xs.append(float(t))
        ys.append(DataStructs.TanimotoSimilarity(fps[i], fps[j]))
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    r = sxy / math.sqrt(sxx * syy)
    mad = sum(abs(x - y) for x, y in zip(xs, ys)) / len(xs)
    print(f"SUMMARY\tcompared={n}\tsame={same}\tdiffer={differ}\tisotope_differ={isotope_differ}\tmetal_differ={metal_differ}"
          f"\tvalence_differ={invariant_differ}\tsame_with_ecfp_invariants={same_ecfp}"
          f"\tsame_radius3_with_ecfp_invariants={same_ecfp3}"
          f"\tpairs={len(xs)}\tpearson={r:.4f}\tmean_abs_diff={mad:.4f}\tmean_ours={mx:.4f}\tmean_rdkit={my:.4f}")


if __name__ == "__main__":
    if sys.argv[1] == "scaffolds":
        scaffolds(sys.argv[2])
    elif sys.argv[1] == "features":
        features(sys.argv[2], sys.argv[3])
