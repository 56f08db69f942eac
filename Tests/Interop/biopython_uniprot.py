"""Reads UniProt files with Biopython and prints, per record, what tagdata must agree on.

Output: one TSV line per record: file, record index, primary accession, sequence, taxon id.
Flat files go through SeqIO "swiss", UniProt XML through SeqIO "uniprot-xml", FASTA through
SeqIO "fasta". Biopython has no UniRef XML reader; UniRef files are read with the standard
library's ElementTree (representative member), an independent parser all the same.
"""
import sys
import xml.etree.ElementTree as ET

from Bio import SeqIO


def taxon_of(record):
    taxids = record.annotations.get("ncbi_taxid")
    if taxids:
        return str(taxids[0])
    for xref in record.dbxrefs:
        if xref.startswith("NCBI Taxonomy:"):
            return xref.split(":", 1)[1]
    return ""


def uniref(path):
    ns = {"u": "http://uniprot.org/uniref"}
    for i, entry in enumerate(ET.parse(path).getroot().findall("u:entry", ns)):
        rep = entry.find("u:representativeMember", ns)
        props = {}
        for p in rep.findall("u:dbReference/u:property", ns):
            props.setdefault(p.get("type"), p.get("value"))
        seq = "".join(rep.find("u:sequence", ns).text.split())
        yield i, props.get("UniProtKB accession", ""), seq, props.get("NCBI taxonomy", "")


def main():
    for path in sys.argv[1:]:
        head = open(path, "rb").read(4096)
        if b"http://uniprot.org/uniref" in head:
            rows = uniref(path)
        else:
            fmt = "uniprot-xml" if head.lstrip().startswith(b"<") else ("fasta" if head.lstrip().startswith(b">") else "swiss")
            rows = []
            for i, r in enumerate(SeqIO.parse(path, fmt)):
                acc = r.id.split("|")[1] if fmt == "fasta" and r.id.count("|") >= 2 else r.id
                rows.append((i, acc, str(r.seq), taxon_of(r)))
        for i, acc, seq, tax in rows:
            print(f"{path}\t{i}\t{acc}\t{seq}\t{tax}")


if __name__ == "__main__":
    main()
