"""Benchmark: the MIA-Efficacy SVC as SalUn runs it vs paretoul's exact faster route, in one run.

On real confidences (the original and the oracle of one seed; Fashion-MNIST by default), for
each model: the reference route (``SVC(C=3, gamma="auto")`` with scikit-learn's default kernel
cache, fitted on the members and non-members, then asked about every forget sample), and
:func:`paretoul.metrics.membership.mia_efficacy` (each distinct forget confidence asked once,
and labelled by the moment-series route of :func:`~paretoul.metrics.membership.predict_1d`, which
asks libsvm about any value within its error bound of the boundary: exact). The fit and the
prediction are also timed apart, for the reference route and for paretoul's. Also times, for
the record, two routes paretoul does not take: a 4 GB libsvm kernel
cache (the same solution, slower) and fitting on distinct (confidence, label) pairs weighted by
their counts (faster, but another problem for the solver: not exact by construction). Prints
JSON with each route's seconds, its ratio to the reference and whether its answer equals the
reference's.

    python analysis/bench_mia.py [--dataset fashion-mnist] [--data-root data] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.svm import SVC

import paretoul
from paretoul.metrics.membership import MAX_MEMBERS, mia_efficacy, predict_1d


def _inputs(ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ctx.confidence("retain"), ctx.confidence("test"), ctx.confidence("forget")


def _fit_xy(retain: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    members = retain[:MAX_MEMBERS][: len(test)]
    x = np.concatenate([members, test])[:, None]
    y = np.concatenate([np.ones(len(members)), np.zeros(len(test))])
    return x, y


def reference(retain, test, forget) -> tuple[float, np.ndarray]:
    """SalUn's evaluation: the SVC with default settings, predicting every forget sample."""
    x, y = _fit_xy(retain, test)
    clf = SVC(C=3, gamma="auto", kernel="rbf").fit(x, y)
    pred = clf.predict(forget[:, None])
    return float(100.0 * np.mean(pred == 0)), pred


def big_cache(retain, test, forget) -> float:
    """The reference with a 4 GB kernel cache (speed only: the same solution)."""
    x, y = _fit_xy(retain, test)
    clf = SVC(C=3, gamma="auto", kernel="rbf", cache_size=4000).fit(x, y)
    return float(100.0 * np.mean(clf.predict(forget[:, None]) == 0))


def weighted_distinct(retain, test, forget) -> float:
    """Inexact: one training point per distinct (confidence, label), C scaled by its count."""
    x, y = _fit_xy(retain, test)
    pairs, counts = np.unique(np.column_stack([x[:, 0], y]), axis=0, return_counts=True)
    clf = SVC(C=3, gamma="auto", kernel="rbf").fit(pairs[:, :1], pairs[:, 1], sample_weight=counts)
    return float(100.0 * np.mean(clf.predict(forget[:, None]) == 0))


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--data-root", default="data")
    ap.add_argument("--cache-dir", default=None, help="checkpoint cache (default: paretoul's)")
    args = ap.parse_args()
    setting = paretoul.Setting(args.dataset, "mlp", "random:0.1", data_root=args.data_root, device="cpu")
    art = paretoul.prepare(setting, [0], cache_dir=args.cache_dir)[0]
    rows = []
    for name, ctx in (("original", art.original_context), ("oracle", art.oracle_context)):
        inputs = _inputs(ctx)
        (ref, _), ref_s = _timed(reference, *inputs)
        retain, test, forget = inputs
        row = {"model": name, "fit_points": 2 * min(len(test), MAX_MEMBERS, len(retain)),
               "forget": len(forget), "distinct_forget": len(np.unique(forget)),
               "reference_s": round(ref_s, 3), "reference_mia": ref}
        x, y = _fit_xy(retain, test)
        clf, fit_s = _timed(SVC(C=3, gamma="auto", kernel="rbf").fit, x, y)
        _, predict_s = _timed(clf.predict, forget[:, None])
        distinct = np.unique(forget.astype(np.float64))
        _, series_s = _timed(predict_1d, clf, distinct, 1.0)
        row["fit_s"], row["reference_predict_s"] = round(fit_s, 3), round(predict_s, 3)
        row["paretoul_predict_s"] = round(series_s, 4)
        for label, fn in (("paretoul", mia_efficacy), ("big_kernel_cache (not used)", big_cache),
                          ("weighted_distinct (not used: inexact)", weighted_distinct)):
            value, s = _timed(fn, *inputs)
            row[label] = {"mia": value, "s": round(s, 3), "equal": value == ref,
                          "speed_up": round(ref_s / s, 2)}
        rows.append(row)
    print(json.dumps({"dataset": args.dataset, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
