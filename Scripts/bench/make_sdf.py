"""Writes an SDF of the shipped ChEMBL SMILES (Corpora/smiles/nextmove_chembl.smi.gz), one
record per distinct molecule RDKit reads, with 2D coordinates and a PubChem-like ID tag: distinct
structures, as a PubChem chunk holds them.

usage: make_sdf.py OUT [LIMIT]
"""
import gzip
import sys

from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem

RDLogger.DisableLog("rdApp.*")
out_path = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 10**9
n = 0
with gzip.open("Corpora/smiles/nextmove_chembl.smi.gz", "rt") as f, open(out_path, "w") as out:
    writer = Chem.SDWriter(out)
    for line in f:
        smiles = line.split()[0] if line.strip() else ""
        mol = Chem.MolFromSmiles(smiles) if smiles else None
        if mol is None:
            continue
        AllChem.Compute2DCoords(mol)
        n += 1
        mol.SetProp("_Name", str(n))
        mol.SetProp("PUBCHEM_COMPOUND_CID", str(n))
        writer.write(mol)
        if n >= limit:
            break
    writer.close()
print(f"{out_path}: {n} records", file=sys.stderr)
