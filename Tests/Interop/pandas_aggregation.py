"""Checks tagdata's aggregation of binding measurements against the same policy computed with
pandas on the catalog's measurement rows.

usage: pandas_aggregation.py CATALOG OURS.tsv
OURS.tsv columns: policy, censored, scale, kind ('*' for all), smiles, target, measured kind, value, count, censored count
Prints one line per disagreement and a summary; exits 1 on any disagreement.
"""
import sqlite3
import sys

import numpy as np
import pandas as pd

catalog, ours_path = sys.argv[1], sys.argv[2]
con = sqlite3.connect(catalog)
rows = pd.read_sql_query(
    """SELECT m.smiles, lower(hex(t.key)) AS target, x.kind, x.relation, x.value FROM measurements x
       JOIN molecules m ON m.id = x.molecule_id JOIN targets t ON t.id = x.target_id WHERE x.error IS NULL""",
    con,
)
affinity = {"Ki", "IC50", "Kd", "EC50"}
rows["censored"] = ~rows["relation"].isin(["=", "~"])

ours = pd.read_csv(ours_path, sep="\t", header=None, keep_default_na=False,
                   names=["policy", "cens", "scale", "kind", "smiles", "target", "mkind", "value", "count", "ncens"])

def expected(policy, cens, scale, kind):
    df = rows
    if kind != "*":
        df = df[df["kind"] == kind]
    if policy == "max_affinity" or scale == "pX":
        df = df[df["kind"].isin(affinity)]
    if cens == "exclude":
        df = df[~df["censored"]]
    df = df.copy()
    if scale == "pX":
        df = df[df["value"] > 0]
        df["value"] = 9 - np.log10(df["value"].to_numpy())
    g = df.groupby(["smiles", "target", "kind"])
    if policy == "mean":
        v = g["value"].mean()
    elif policy == "median":
        v = g["value"].median()
    else:
        v = g["value"].max() if scale == "pX" else g["value"].min()
    out = pd.DataFrame({"value": v, "count": g["value"].size(), "ncens": g["censored"].sum()}).reset_index()
    return out

bad = 0
groups = 0
for (policy, cens, scale, kind), mine in ours.groupby(["policy", "cens", "scale", "kind"]):
    exp = expected(policy, cens, scale, kind)
    merged = exp.merge(mine, left_on=["smiles", "target", "kind"], right_on=["smiles", "target", "mkind"],
                       how="outer", suffixes=("_pd", "_us"), indicator="which")
    for r in merged.itertuples():
        groups += 1
        if r.which != "both":
            bad += 1
            key = r.kind if isinstance(r.kind, str) else r.mkind
            print(f"{policy}/{cens}/{scale}/{kind}: group only in {r.which}: {r.smiles} {r.target} {key}")
            continue
        a, b = float(r.value_pd), float(r.value_us)
        if not (abs(a - b) <= 1e-12 * max(1.0, abs(a))) or int(r.count_pd) != int(r.count_us) or int(r.ncens_pd) != int(r.ncens_us):
            bad += 1
            print(f"{policy}/{cens}/{scale}/{kind}: {r.smiles} {r.target[:12]} {r.kind}: pandas {a!r} n={r.count_pd} "
                  f"censored={r.ncens_pd}, tagdata {b!r} n={r.count_us} censored={r.ncens_us}")
print(f"SUMMARY groups={groups} disagreements={bad}")
sys.exit(1 if bad else 0)
