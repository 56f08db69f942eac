"""tagdata's evaluation metrics (TagdataEval) checked against the Python tools, for tagdata's interop test.

Usage: eval_metrics.py CASES_JSON
  CASES_JSON (written by Tests/TagdataEvalTests/MetricsInteropTests.swift) holds generated inputs and
  tagdata's results:
  - regression: y, p and tagdata's mse, rmse, mae, r2, pearson, spearman, kendall ("error" where
    tagdata refused the input) -> scikit-learn mean_squared_error, root_mean_squared_error,
    mean_absolute_error, r2_score; scipy.stats pearsonr, spearmanr, kendalltau.
  - bootstrap: data, tagdata's resample index matrix, its statistic on every resample, the point
    estimate, the leave-one-out values and its percentile/basic/BCa intervals -> the statistic of
    the tools on the same resamples, and scipy.stats.bootstrap(method=...) given the same
    bootstrap distribution (bootstrap_result=..., n_resamples=0).
  - text: hypotheses, reference streams and tagdata's BLEU (score, counts, totals, lengths),
    BLEU with effective order, smoothing floor / add-k / none, tokenizer none, chrF, chrF++, sentence BLEU of segment 0, 13a tokens ->
    sacrebleu's BLEU / CHRF corpus_score, sentence_bleu, Tokenizer13a.
  - classification: 0/1 labels, scores, tagdata's ROC-AUC and average precision -> sklearn
    roc_auc_score, average_precision_score.
  - rounding: values and tagdata's Python-style round(x, 3) (TDC) -> round(x, 3), exactly.
  - knn: fingerprints as bit strings, targets, k, tagdata's uniform and distance-weighted kNN
    predictions -> sklearn KNeighborsRegressor(metric='jaccard', algorithm='brute') on boolean arrays.
  Values must agree to 1e-9 relative (|a-b| <= 1e-9*max(1,|b|)); NaN only with NaN; counts exactly.
  Prints one line per disagreement with its input and a last line: SUMMARY followed by key=value
  fields. Exit 0: all agree; 1: a disagreement; 3: a tool is missing.
"""
import json
import math
import sys
import types
import warnings

try:
    import numpy as np
    import scipy
    import scipy.stats as st
    import sklearn
    import sklearn.metrics as skm
    from sklearn.neighbors import KNeighborsRegressor
    import sacrebleu
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
except ImportError as e:  # the test skips, or fails under TAGDATA_REQUIRE_INTEROP=1
    print(f"MISSING {e.name}: pip install numpy scipy scikit-learn sacrebleu", flush=True)
    sys.exit(3)

warnings.simplefilter("ignore")
TOL = 1e-9
problems = 0
maxdiff = {}


def short(v, limit=400):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + f"... ({len(v)} values)"


def agree(section, name, ours, ref, where):
    """Compares one value; records the relative difference; prints a disagreement."""
    global problems
    if ours == "error" or ref == "error":
        if ours != ref:
            problems += 1
            print(f"{section} {name}: tagdata {ours} vs tool {ref} | {where()}")
        return
    ours, ref = float(ours), float(ref)
    if math.isnan(ref) or math.isnan(ours):
        if not (math.isnan(ref) and math.isnan(ours)):
            problems += 1
            print(f"{section} {name}: tagdata {ours!r} vs tool {ref!r} | {where()}")
        return
    if math.isinf(ref) or math.isinf(ours):
        if ours != ref:
            problems += 1
            print(f"{section} {name}: tagdata {ours!r} vs tool {ref!r} | {where()}")
        return
    d = abs(ours - ref) / max(1.0, abs(ref))
    key = f"{section}.{name.split('[')[0]}"
    maxdiff[key] = max(maxdiff.get(key, 0.0), d)
    if d > TOL:
        problems += 1
        print(f"{section} {name}: tagdata {ours!r} vs tool {ref!r} (rel {d:.3g}) | {where()}")


def tool_metric(name, y, p):
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    try:
        if name == "mse":
            return skm.mean_squared_error(y, p)
        if name == "rmse":
            return skm.root_mean_squared_error(y, p)
        if name == "mae":
            return skm.mean_absolute_error(y, p)
        if name == "r2":
            return skm.r2_score(y, p)
        if name == "pearson":
            return st.pearsonr(y, p).statistic
        if name == "spearman":
            return st.spearmanr(y, p).statistic
        if name == "kendall":
            return st.kendalltau(y, p).statistic
    except ValueError:
        return "error"
    raise KeyError(name)


METRICS = ["mse", "rmse", "mae", "r2", "pearson", "spearman", "kendall"]


def regression(cases):
    for k, c in enumerate(cases):
        for m in METRICS:
            agree("REG", m, c[m], tool_metric(m, c["y"], c["p"]),
                  lambda: f"case {k} kind {c['kind']} n={len(c['y'])} y={short(c['y'])} p={short(c['p'])}")


def undefined_as_nan(v):
    """Inside the bootstrap a statistic scipy refuses (pearsonr on one pair) is undefined: NaN."""
    return math.nan if v == "error" else v


def bootstrap(cases):
    global problems
    for k, c in enumerate(cases):
        y, p, s = np.asarray(c["y"]), np.asarray(c["p"]), c["statistic"]
        n = len(y)
        where = lambda: f"case {k} {s} n={n} level={c['level']} y={short(c['y'])} p={short(c['p'])}"
        # The statistic of the tools on tagdata's resamples, the full data and the jackknife.
        for b, row in enumerate(c["indices"]):
            agree("BOOT", f"theta[{b}]", c["theta"][b], undefined_as_nan(tool_metric(s, y[row], p[row])),
                  lambda: f"{where()} indices={row}")
        agree("BOOT", "point", c["point"], tool_metric(s, y, p), where)
        for i in range(n):
            keep = [j for j in range(n) if j != i]
            agree("BOOT", f"jackknife[{i}]", c["jackknife"][i], undefined_as_nan(tool_metric(s, y[keep], p[keep])), where)
        # scipy's interval rules on the same bootstrap distribution. The statistic of an index
        # sample: the tool's, except tagdata's own point estimate for the full data, so that
        # BCa's count of resampled values below the estimate does not hang on a last-bit difference.
        point = c["point"]

        def stat(i):
            i = np.asarray(i).astype(int)
            if len(i) == n and (i == np.arange(n)).all():
                return point
            return undefined_as_nan(tool_metric(s, y[i], p[i]))

        theta = np.asarray(c["theta"], dtype=float)
        for method in ["percentile", "basic", "BCa"]:
            res = st.bootstrap((np.arange(n),), stat, vectorized=False, n_resamples=0, method=method,
                               confidence_level=c["level"],
                               bootstrap_result=types.SimpleNamespace(bootstrap_distribution=theta))
            lo, hi = res.confidence_interval
            if c["intervals"] is None:
                # tagdata gives no interval for a distribution with undefined values here (its
                # interval() drops and counts them); scipy must give NaN for every method.
                if not (math.isnan(lo) and math.isnan(hi)):
                    problems += 1
                    print(f"BOOT {method}: scipy gave ({lo}, {hi}) on a distribution with NaN | {where()}")
                continue
            ours = c["intervals"][method.lower()]
            agree("BOOT", f"{method}.lower", ours[0], lo, where)
            agree("BOOT", f"{method}.upper", ours[1], hi, where)


def text(cases):
    tok = Tokenizer13a()
    bleu, bleu_eff, chrf, chrfpp = BLEU(), BLEU(effective_order=True), CHRF(), CHRF(word_order=2)
    variants = {"floor": BLEU(smooth_method="floor", smooth_value=0.1), "add-k": BLEU(smooth_method="add-k", smooth_value=1),
                "none": BLEU(smooth_method="none"), "tok-none": BLEU(tokenize="none"),
                "floor-eff": BLEU(smooth_method="floor", smooth_value=0.1, effective_order=True)}
    global problems
    for k, c in enumerate(cases):
        hyps, refs = c["hyps"], c["refs"]
        where = lambda: f"case {k} hyps={short(hyps, 2000)} refs={short(refs, 2000)}"
        b = bleu.corpus_score(hyps, refs)
        agree("TEXT", "bleu", c["bleu"]["score"], b.score, where)
        agree("TEXT", "bleu.bp", c["bleu"]["bp"], b.bp, where)
        for name, ours, ref in [("counts", c["bleu"]["counts"], list(b.counts)), ("totals", c["bleu"]["totals"], list(b.totals)),
                                ("sys_len", c["bleu"]["sys_len"], b.sys_len), ("ref_len", c["bleu"]["ref_len"], b.ref_len)]:
            if ours != ref:
                problems += 1
                print(f"TEXT bleu.{name}: tagdata {ours} vs sacrebleu {ref} | {where()}")
        agree("TEXT", "bleu_eff", c["bleu_eff"], bleu_eff.corpus_score(hyps, refs).score, where)
        for name, ours in c["bleu_variants"].items():
            agree("TEXT", f"bleu[{name}]", ours, variants[name].corpus_score(hyps, refs).score, where)
        agree("TEXT", "chrf", c["chrf"], chrf.corpus_score(hyps, refs).score, where)
        agree("TEXT", "chrf++", c["chrfpp"], chrfpp.corpus_score(hyps, refs).score, where)
        first = [s[0] for s in refs if s[0] is not None]
        agree("TEXT", "sentence_bleu", c["sentence_bleu"], sacrebleu.sentence_bleu(hyps[0], first).score, where)
        for h, ours in zip(hyps, c["tok13a"]):
            ref = tok(h.rstrip())
            if ours != ref:
                problems += 1
                print(f"TEXT 13a: tagdata {ours!r} vs sacrebleu {ref!r} | input {h!r}")


def classification(cases):
    for k, c in enumerate(cases):
        y, s = np.asarray(c["labels"]), np.asarray(c["scores"])
        where = lambda: f"case {k} n={len(y)} labels={short(c['labels'])} scores={short(c['scores'])}"
        agree("CLS", "roc_auc", c["roc_auc"], skm.roc_auc_score(y, s), where)
        agree("CLS", "average_precision", c["ap"], skm.average_precision_score(y, s), where)


def rounding(case):
    """TDC rounds with Python's round(x, 3): exact equality."""
    global problems
    for v, ours in zip(case["values"], case["ours"]):
        if round(v, 3) != ours:
            problems += 1
            print(f"ROUND round({v!r}, 3) = {round(v, 3)!r}, tagdata {ours!r}")


knn_compared = 0
knn_tied = 0


def knn(cases):
    global knn_compared, knn_tied
    for k, c in enumerate(cases):
        train = np.array([[ch == "1" for ch in s] for s in c["train"]], dtype=bool)
        query = np.array([[ch == "1" for ch in s] for s in c["query"]], dtype=bool)
        y = np.asarray(c["y"], dtype=float)
        kk = min(c["k"], len(y))
        for weights in ["uniform", "distance"]:
            model = KNeighborsRegressor(n_neighbors=kk, metric="jaccard", algorithm="brute", weights=weights)
            model.fit(train, y)
            pred = model.predict(query)
            for q, (ours, ref) in enumerate(zip(c[weights], pred)):
                if c["tied"][q]:
                    knn_tied += 1
                    continue  # the k-th neighbour is tied: sklearn's choice among ties is not documented
                knn_compared += 1
                agree("KNN", weights, ours, ref,
                      lambda: f"case {k} k={c['k']} query {q} {c['query'][q]} train={c['train']} y={c['y']}")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    regression(cases["regression"])
    bootstrap(cases["bootstrap"])
    text(cases["text"])
    classification(cases["classification"])
    rounding(cases["rounding"])
    knn(cases["knn"])
    worst = " ".join(f"max_rel[{k}]={v:.3g}" for k, v in sorted(maxdiff.items()))
    print(f"VERSIONS numpy={np.__version__} scipy={scipy.__version__} scikit-learn={sklearn.__version__} "
          f"sacrebleu={sacrebleu.__version__}")
    print(f"{worst}")
    print(f"SUMMARY problems={problems} regression={len(cases['regression'])} bootstrap={len(cases['bootstrap'])} "
          f"text={len(cases['text'])} rounding={len(cases['rounding']['values'])} classification={len(cases['classification'])} knn={len(cases['knn'])} knn_predictions={knn_compared} knn_tied_skipped={knn_tied}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
