"""The atom-level SMILES tokens of the reaction-prediction literature (Schwaller et al.), by
Python's `re.findall` with the published pattern, for every line of stdin: the tokens joined by
one space, one line out per line in (characters the pattern does not match are skipped, as
findall skips them)."""
import re
import sys

PATTERN = re.compile(r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|\%[0-9]{2}|[0-9])")

for line in sys.stdin.buffer:
    text = line.rstrip(b"\n").decode("utf-8", "surrogateescape")
    sys.stdout.write(" ".join(PATTERN.findall(text)) + "\n")
