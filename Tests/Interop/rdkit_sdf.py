"""RDKit's view of SDF records, for tagdata's interop tests (InChI compared without coordinates).

  check SDF OURS    OURS: tagdata canon sdf output (SMILES<TAB>title per record).
                    Prints per record: index, rdkit_ok, ours_ok, same_inchi, title, ours.
"""
import gzip
import sys

from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")


def main():
    path, ours_path = sys.argv[2], sys.argv[3]
    opener = gzip.open if path.endswith(".gz") else open
    ours = [l.rstrip("\n").split("\t")[0] for l in open(ours_path, encoding="utf-8", errors="replace")]
    with opener(path, "rb") as f:
        for i, m in enumerate(Chem.ForwardSDMolSupplier(f)):
            o = ours[i] if i < len(ours) else ""
            r_ok = m is not None
            same = ""
            if r_ok and o:
                # InChI from RDKit's perceived stereo, not from the drawing's coordinates
                # (the InChI library would otherwise re-perceive stereo RDKit itself does not keep).
                m = Chem.Mol(m)
                m.RemoveAllConformers()
                m2 = Chem.MolFromSmiles(o)
                same = "1" if m2 is not None and Chem.MolToInchi(m) == Chem.MolToInchi(m2) else "0"
            title = m.GetProp("_Name") if r_ok and m.HasProp("_Name") else ""
            print(f"{i}\t{int(r_ok)}\t{int(bool(o))}\t{same}\t{title}\t{o}")


if __name__ == "__main__":
    main()
