"""RDKit's view of PubChem records whose SMILES tag tagdata disagrees with, for the interop tests.

  rdkit_pubchem_tags.py SDF CIDS
      CIDS: a file with one CID per line. For each of those records of SDF (plain or .gz),
      prints: cid, tag_matches_drawing, same_inchi
        tag_matches_drawing: 1 when RDKit's canonical SMILES of the molblock equals RDKit's
                             canonical SMILES of PubChem's isomeric SMILES tag, else 0;
        same_inchi:          1 when RDKit's InChI of the tag equals RDKit's InChI of the
                             molblock (stereo as RDKit perceived it, coordinates removed).
      Then one line over every record RDKit reads that has a tag: "all", records, and how many
      of them have tag_matches_drawing (RDKit's own agreement with PubChem's tags).
"""
import gzip
import sys

from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")

TAGS = ("PUBCHEM_OPENEYE_ISO_SMILES", "PUBCHEM_SMILES")


def main():
    path, cid_path = sys.argv[1], sys.argv[2]
    wanted = {int(l) for l in open(cid_path) if l.strip()}
    opener = gzip.open if path.endswith(".gz") else open
    records = agree = 0
    with opener(path, "rb") as f:
        for m in Chem.ForwardSDMolSupplier(f):
            if m is None or not m.HasProp("PUBCHEM_COMPOUND_CID"):
                continue
            cid = int(m.GetProp("PUBCHEM_COMPOUND_CID"))
            tag = next((m.GetProp(t) for t in TAGS if m.HasProp(t)), None)
            if tag is None:
                continue
            theirs = Chem.MolFromSmiles(tag)
            same_smiles = theirs is not None and Chem.MolToSmiles(m) == Chem.MolToSmiles(theirs)
            records += 1
            agree += same_smiles
            if cid not in wanted:
                continue
            if theirs is None:
                print(f"{cid}\t0\t0")
                continue
            drawing = Chem.Mol(m)
            drawing.RemoveAllConformers()
            same_inchi = Chem.MolToInchi(drawing) == Chem.MolToInchi(theirs)
            print(f"{cid}\t{int(same_smiles)}\t{int(same_inchi)}")
    print(f"all\t{records}\t{agree}")


if __name__ == "__main__":
    main()
