"""Checks tagdata's protein descriptors against Biopython 1.88 (ProteinAnalysis) and peptides 0.3.2.

Input: a TSV written by the Swift test, one line per sequence:
    id, sequence, 11 Biopython-family values, 88 peptides values
in the column order of the header line. A value is a number, or `!kind` when tagdata rejected
the sequence for that descriptor (kind: empty, invalidCharacter, ambiguousResidue,
nonstandardResidue, lowercaseResidue).

For every sequence and descriptor the reference tool is run and the outcomes compared:
- both give a value: equal within 1e-6 relative (or 1e-12 absolute, for means that cancel to
  about zero, where the two summation orders differ in the last bits);
- the tool raises (or gives NaN): tagdata must reject too;
- the tool gives a value and tagdata rejects: allowed only when the value is meaningless, which
  is checked here independently of tagdata's rule:
    * an ambiguity code (B, Z, J, X): replacing it by the residues it stands for must change the
      tool's value (otherwise the value was well defined and the rejection is wrong);
    * any other character in a Biopython descriptor must be a non-letter (Biopython counts it as
      a residue);
    * in peptides, the sequence must hold a character other than the 20 upper-case residues
      (peptides scores it 0 and counts it in the length).
Every disagreement is printed with its input. Exit status 1 if there is any.
The last line is `SUMMARY key=value ...` for the Swift test.
"""
import math
import sys
import warnings

import peptides
from Bio.SeqUtils.ProtParam import ProteinAnalysis

STANDARD = "ACDEFGHIKLMNPQRSTVWY"
MEMBERS = {"B": "DN", "Z": "EQ", "J": "IL", "X": STANDARD}


def biopython(name, seq):
    """The Biopython value of a tagdata descriptor, or raises."""
    pa = ProteinAnalysis(seq)
    if name == "length":
        return float(pa.length)
    if name == "mol_wt":
        return pa.molecular_weight()
    if name == "pi":
        return pa.isoelectric_point()
    if name == "gravy":
        return pa.gravy()
    if name == "aromaticity":
        return pa.aromaticity()
    if name == "instability_index":
        return pa.instability_index()
    if name in ("helix_fraction", "turn_fraction", "sheet_fraction"):
        return pa.secondary_structure_fraction()[("helix_fraction", "turn_fraction", "sheet_fraction").index(name)]
    if name == "extinction_reduced":
        return float(pa.molar_extinction_coefficient()[0])
    if name == "extinction_cystines":
        return float(pa.molar_extinction_coefficient()[1])
    raise KeyError(name)


def outcome(f):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = f()
        v = float(v)
        return None if math.isnan(v) else v
    except Exception:
        return None


def close(a, b):
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b)) or abs(a - b) <= 1e-12


def meaningless_ambiguity(name, seq, value):
    """True when the Biopython value of `seq` changes as its ambiguity codes take the residues
    they stand for (so that the tool's value is a guess)."""
    upper = seq.upper()
    for code, members in MEMBERS.items():
        if code not in upper:
            continue
        for m in members:
            v = outcome(lambda: biopython(name, upper.replace(code, m)))
            if v is None or not close(v, value):
                return True
    return False


def main():
    rows = open(sys.argv[1], encoding="utf-8").read().split("\n")
    header = rows[0].split("\t")
    bio_names = header[2:13]
    pep_names = header[13:]
    expected_pep = list(peptides.Peptide("ACDEFGHIKLMNPQRSTVWY").descriptors())
    problems = []
    if pep_names != expected_pep:
        problems.append(f"peptide descriptor names/order differ: {pep_names[:5]}... vs {expected_pep[:5]}...")
    n = 0
    stats = {k: 0 for k in (
        "bio_values", "bio_agree", "bio_floor", "bio_tool_rejects", "bio_both_reject", "bio_meaningless",
        "pep_sequences", "pep_agree", "pep_tool_rejects", "pep_both_reject", "pep_meaningless",
        "seq_bio_all_accepted", "seq_pep_accepted", "pep_values",
        "corpus_sequences", "corpus_bio_all_accepted", "corpus_pep_accepted", "corpus_nonstandard", "bio_identical", "pep_identical", "pep_floor")}
    for line in rows[1:]:
        if not line:
            continue
        f = line.split("\t")
        ident, seq, ours_bio, ours_pep = f[0], f[1], f[2:13], f[13:]
        n += 1
        corpus = ident.startswith("uniprot/") and "+" not in ident and " " not in ident
        if corpus:
            stats["corpus_sequences"] += 1
            if any(c not in STANDARD for c in seq):
                stats["corpus_nonstandard"] += 1
        all_ok = True
        for name, ours in zip(bio_names, ours_bio):
            theirs = outcome(lambda: biopython(name, seq))
            if theirs is None:
                stats["bio_tool_rejects"] += 1
                if ours.startswith("!"):
                    stats["bio_both_reject"] += 1
                else:
                    problems.append(f"{ident} {name}: Biopython rejects, tagdata gives {ours}: {seq[:80]!r}")
                all_ok = False
                continue
            if ours.startswith("!"):
                all_ok = False
                kind = ours[1:]
                if kind == "ambiguousResidue" and meaningless_ambiguity(name, seq, theirs):
                    stats["bio_meaningless"] += 1
                elif kind == "invalidCharacter" and any(not (c.isascii() and c.isalpha()) for c in seq):
                    stats["bio_meaningless"] += 1
                elif kind == "empty" and seq == "":
                    stats["bio_meaningless"] += 1
                else:
                    problems.append(f"{ident} {name}: Biopython gives {theirs!r}, tagdata rejects ({kind}) although the value is well defined: {seq[:80]!r}")
                continue
            stats["bio_values"] += 1
            v = float(ours)
            if close(v, theirs):
                stats["bio_agree"] += 1
                stats["bio_identical"] += v == theirs
                if not abs(v - theirs) <= 1e-6 * max(abs(v), abs(theirs)):
                    stats["bio_floor"] += 1
            else:
                problems.append(f"{ident} {name}: Biopython {theirs!r}, tagdata {v!r}: {seq[:80]!r}")
            # An accepted ambiguity code must not matter.
            if any(c in seq.upper() for c in MEMBERS) and meaningless_ambiguity(name, seq, theirs):
                problems.append(f"{ident} {name}: tagdata accepts an ambiguity code on which Biopython's value depends: {seq[:80]!r}")
        if all_ok:
            stats["seq_bio_all_accepted"] += 1
            stats["corpus_bio_all_accepted"] += corpus

        stats["pep_sequences"] += 1
        theirs = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                d = peptides.Peptide(seq).descriptors()
            theirs = [float(d[k]) for k in pep_names]
            if any(math.isnan(x) for x in theirs):
                theirs = None
        except Exception:
            theirs = None
        rejected = ours_pep[0].startswith("!")
        if theirs is None:
            stats["pep_tool_rejects"] += 1
            if rejected:
                stats["pep_both_reject"] += 1
            else:
                problems.append(f"{ident} peptides: tool rejects, tagdata gives values: {seq[:80]!r}")
            continue
        if rejected:
            if any(c not in STANDARD for c in seq):
                stats["pep_meaningless"] += 1
            else:
                problems.append(f"{ident} peptides: tool gives values, tagdata rejects ({ours_pep[0]}) a sequence of standard residues: {seq[:80]!r}")
            continue
        stats["seq_pep_accepted"] += 1
        stats["corpus_pep_accepted"] += corpus
        stats["pep_values"] += len(theirs)
        stats["pep_identical"] += sum(float(o) == t for o, t in zip(ours_pep, theirs))
        stats["pep_floor"] += sum(abs(float(o) - t) > 1e-6 * max(abs(float(o)), abs(t)) for o, t in zip(ours_pep, theirs))
        bad = [(k, t, float(o)) for k, t, o in zip(pep_names, theirs, ours_pep) if not close(float(o), t)]
        if bad:
            problems.append(f"{ident} peptides: {len(bad)} values differ, first {bad[0][0]}: peptides {bad[0][1]!r}, tagdata {bad[0][2]!r}: {seq[:80]!r}")
        else:
            stats["pep_agree"] += 1
    for p in problems:
        print("DISAGREE " + p)
    stats["sequences"] = n
    stats["disagreements"] = len(problems)
    print("SUMMARY " + " ".join(f"{k}={v}" for k, v in stats.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
