"""The two sides of Scripts/bench-eval.

  eval_reference.py generate N SEED FILE
      N (target, prediction) pairs from numpy's default_rng(SEED), written as little-endian
      float64 pairs: targets ~ Normal(5, 1.5) rounded to 2 decimals, predictions 0.8 target +
      Normal(1, 0.7) rounded to 3 decimals (ties in both, as in measured affinities).
  eval_reference.py measure FILE RESAMPLES SEED REPETITIONS [scipy-bootstrap]
      The regression metrics of `tagdata eval` with scikit-learn and scipy (mean_squared_error,
      root_mean_squared_error, mean_absolute_error, r2_score, pearsonr, spearmanr, kendalltau) and a
      95 % percentile bootstrap interval of Pearson r from RESAMPLES resamples: a numpy loop
      (default_rng(SEED).integers, np.corrcoef per resample), or with `scipy-bootstrap`
      scipy.stats.bootstrap(paired, vectorized pearsonr, method='percentile'). Times exclude
      reading the file; the fastest of REPETITIONS, wall and process CPU seconds. Prints one JSON line.
"""
import json
import sys
import time

import numpy as np


def generate(n, seed, path):
    rng = np.random.default_rng(seed)
    y = np.round(rng.normal(5.0, 1.5, n), 2)
    p = np.round(0.8 * y + rng.normal(1.0, 0.7, n), 3)
    pairs = np.empty((n, 2), dtype="<f8")
    pairs[:, 0], pairs[:, 1] = y, p
    pairs.tofile(path)


def measure(path, resamples, seed, repetitions, method):
    import scipy
    import scipy.stats as st
    import sklearn
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score, root_mean_squared_error

    pairs = np.fromfile(path, dtype="<f8").reshape(-1, 2)
    y, p = np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])
    n = len(y)
    best_metrics = best_bootstrap = cpu_metrics = cpu_bootstrap = float("inf")
    for _ in range(repetitions):
        t0, c0 = time.perf_counter(), time.process_time()
        metrics = {
            "mse": float(mean_squared_error(y, p)),
            "rmse": float(root_mean_squared_error(y, p)),
            "mae": float(mean_absolute_error(y, p)),
            "r2": float(r2_score(y, p)),
            "pearson": float(st.pearsonr(y, p).statistic),
            "spearman": float(st.spearmanr(y, p).statistic),
            "kendall_tau_b": float(st.kendalltau(y, p).statistic),
        }
        t1, c1 = time.perf_counter(), time.process_time()
        lower = upper = None
        if resamples > 0:
            if method == "scipy-bootstrap":
                res = st.bootstrap((y, p), lambda a, b, axis: st.pearsonr(a, b, axis=axis).statistic, paired=True,
                                   vectorized=True, n_resamples=resamples, batch=max(1, 20_000_000 // (8 * n)),
                                   confidence_level=0.95, method="percentile", random_state=np.random.default_rng(seed))
                lower, upper = float(res.confidence_interval.low), float(res.confidence_interval.high)
            else:
                rng = np.random.default_rng(seed)
                stats = np.empty(resamples)
                for b in range(resamples):
                    idx = rng.integers(0, n, n)
                    stats[b] = np.corrcoef(y[idx], p[idx])[0, 1]
                stats = stats[~np.isnan(stats)]
                lower, upper = (float(v) for v in np.percentile(stats, [2.5, 97.5]))
        t2, c2 = time.perf_counter(), time.process_time()
        best_metrics = min(best_metrics, t1 - t0)
        best_bootstrap = min(best_bootstrap, t2 - t1)
        cpu_metrics = min(cpu_metrics, c1 - c0)
        cpu_bootstrap = min(cpu_bootstrap, c2 - c1)
    tool = f"scikit-learn {sklearn.__version__}, scipy {scipy.__version__}, numpy {np.__version__}"
    print(json.dumps({"tool": tool, "method": method, "count": n, "metrics": metrics,
                      "bootstrap": {"lower": lower, "upper": upper, "resamples": resamples, "threads": 1},
                      "seconds": {"metrics": best_metrics, "bootstrap": best_bootstrap if resamples > 0 else 0.0},
                      "cpuSeconds": {"metrics": cpu_metrics, "bootstrap": cpu_bootstrap if resamples > 0 else 0.0}}))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "measure":
        measure(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                sys.argv[6] if len(sys.argv) > 6 else "numpy-loop")
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
