"""pX and TDC's log of affinities in nM, computed in numpy, for tagdata's interop tests.

Reads one value per line (nM, as Python's float() reads it) and prints, per line, the value,
9 - log10(nM) and TDC's convert_to_log, -log10(nM * 1e-9 + 1e-10) (tdc/utils/label.py), as
float64 repr (round-trips exactly); 'nan' where numpy gives nan or an infinity.
"""
import sys

import numpy as np


def main():
    values = np.array([float(line) for line in sys.stdin.read().split()], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        px = 9 - np.log10(values)
        tdc = -np.log10(values * 1e-9 + 1e-10)
    out = []
    for v, p, t in zip(values, px, tdc):
        cells = [repr(float(v))] + [repr(float(x)) if np.isfinite(x) else "nan" for x in (p, t)]
        out.append("\t".join(cells))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
