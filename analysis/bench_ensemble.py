"""Benchmark: N retrains trained as one grouped model vs one after another, in one run.

For each dataset, N independent retrains of an MLP on one seed's retain set (each with its own
init and batch order, as an audit's retrains), trained twice: one by one with ``sgd_train``,
then together with ``sgd_train_many``. Both at the same thread count. Prints JSON with each
side's seconds, the ratio, and the largest weight difference between the two sides (0.0 when
``--threads 1``: the grouped path is bit-for-bit the single-threaded one).

    python analysis/bench_ensemble.py                    # N=32, digits (20 epochs) + FMNIST (1 epoch)
    python analysis/bench_ensemble.py --threads 1 --models 8
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from paretoul.data import load_dataset, make_splits
from paretoul.models import build_model
from paretoul.streams import stream_seed
from paretoul.training import Job, default_recipe, sgd_train_many


def _jobs(data, retain, n: int) -> list[Job]:
    return [Job(build_model("mlp", data.input_shape, data.num_classes,
                            seed=stream_seed(0, f"train:retrain-{k}:init")), retain, 0, f"train:retrain-{k}")
            for k in range(n)]


def bench(dataset: str, n: int, epochs: int | None) -> dict:
    data = load_dataset(dataset)
    splits = make_splits(data.train_y.numpy(), len(data.test_y), "random:0.1", seed=0)
    recipe = default_recipe(dataset)
    if epochs is not None:
        recipe = recipe.with_overrides(epochs=epochs)
    sgd_train_many(_jobs(data, splits.retain[:256], 2), data, recipe.with_overrides(epochs=1))  # warm up
    out = {"dataset": dataset, "models": n, "epochs": recipe.epochs, "batch_size": recipe.batch_size,
           "retain": len(splits.retain)}
    trained = {}
    for side, batched in (("one_by_one", False), ("batched", True)):
        jobs = _jobs(data, splits.retain, n)
        t0 = time.perf_counter()
        sgd_train_many(jobs, data, recipe, batched=batched)
        out[f"{side}_s"] = round(time.perf_counter() - t0, 2)
        trained[side] = jobs
    out["ratio"] = round(out["one_by_one_s"] / out["batched_s"], 2)
    out["max_abs_weight_diff"] = max(
        (a - b).abs().max().item()
        for ja, jb in zip(trained["one_by_one"], trained["batched"], strict=True)
        for a, b in zip(ja.model.parameters(), jb.model.parameters(), strict=True))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=32)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--digits-epochs", type=int, default=None, help="default: the recipe's (20)")
    ap.add_argument("--fmnist-epochs", type=int, default=1,
                    help="Fashion-MNIST epochs (default 1: the per-step ratio; the recipe has 20)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    runs = [bench("digits", args.models, args.digits_epochs)]
    try:
        runs.append(bench("fashion-mnist", args.models, args.fmnist_epochs))
    except Exception as e:  # the Debian package is not installed
        runs.append({"dataset": "fashion-mnist", "skipped": str(e)})
    print(json.dumps({"threads": args.threads, "torch": torch.__version__, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
