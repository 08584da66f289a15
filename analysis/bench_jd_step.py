"""Benchmark: one RAUL (Jacobian-descent) step vs one weighted-sum step on ResNet-18, with and
without a preference.

Both steps take the same forget and retain batches (CIFAR shapes, 64 + 64 by
default) through two forward passes and one SGD update; they differ only in how
the two gradients are combined: ``weighted_sum`` (backward of 0.5 L_f + 0.5 L_r), ``raul``
(UPGrad, equal weights), ``raul_pref`` (UPGrad with preference (0.3, 0.7)), ``scalarized``
(the fixed weighting (0.3, 0.7) through the same Jacobian step, as ``scalarized`` runs) and
``torchjd_autojac`` (torchjd's own path). Times are medians over repeats, interleaved in
one process so that drift hits every variant alike; peak memory is measured per
variant in a fresh subprocess over three steps (CPU: peak RSS growth over the
state before the first step; CUDA: ``torch.cuda.max_memory_allocated`` growth).
Prints JSON.

    python analysis/bench_jd_step.py [--repeats 15] [--device cpu] [--aggregator upgrad]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from paretoul.jd import JacobianDescent, fixed_weights, make_aggregator
from paretoul.methods.losses import forget_kl
from paretoul.models import build_model

VARIANTS = ("weighted_sum", "raul", "raul_pref", "scalarized", "torchjd_autojac")
PREFERENCE = (0.3, 0.7)


def setup(device: str, batch: int, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model("resnet18", (3, 32, 32), 10, seed=seed).to(device).train()
    xf, xr = (torch.randn(batch, 3, 32, 32, device=device) for _ in range(2))
    yr = torch.randint(0, 10, (batch,), device=device)
    p_ref = torch.full((batch, 10), 0.1, device=device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9, weight_decay=5e-4)
    return model, xf, xr, yr, p_ref, opt


def make_steps(model, xf, xr, yr, p_ref, opt, aggregator: str):
    """Step functions; each allocates its own state (the JD matrix, the aggregator) on first use,
    so a memory measurement of one variant includes what that variant keeps."""
    params = list(model.parameters())
    state: dict[str, object] = {}

    def losses():
        return forget_kl(model(xf), p_ref), F.cross_entropy(model(xr), yr)

    def weighted_sum():
        opt.zero_grad(set_to_none=True)
        lf, lr = losses()
        (0.5 * lf + 0.5 * lr).backward()
        opt.step()

    def raul():
        if "jd" not in state:
            state["jd"] = JacobianDescent(params, make_aggregator(aggregator))
        opt.zero_grad(set_to_none=True)
        state["jd"].step(list(losses()))
        opt.step()

    def raul_pref():
        if "jd_pref" not in state:
            state["jd_pref"] = JacobianDescent(params, make_aggregator(aggregator, PREFERENCE,
                                                                       xf.device))
        opt.zero_grad(set_to_none=True)
        state["jd_pref"].step(list(losses()))
        opt.step()

    def scalarized():
        if "jd_fixed" not in state:
            state["jd_fixed"] = JacobianDescent(params, fixed_weights(PREFERENCE, xf.device))
        opt.zero_grad(set_to_none=True)
        state["jd_fixed"].step(list(losses()))
        opt.step()

    def torchjd_autojac():  # the obvious torchjd call, for reference
        from torchjd.autojac import backward, jac_to_grad

        opt.zero_grad(set_to_none=True)
        backward(list(losses()), inputs=params)
        jac_to_grad(params, state.setdefault("agg", make_aggregator(aggregator)))
        opt.step()

    return {"weighted_sum": weighted_sum, "raul": raul, "raul_pref": raul_pref,
            "scalarized": scalarized, "torchjd_autojac": torchjd_autojac}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_steps(device: str, batch: int, repeats: int, aggregator: str, variants) -> dict:
    steps = make_steps(*setup(device, batch), aggregator)
    for name in variants:  # warm-up
        steps[name]()
        steps[name]()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(repeats):
        order = list(variants)[r % len(variants):] + list(variants)[: r % len(variants)]
        for name in order:
            _sync(device)
            t0 = time.perf_counter()
            steps[name]()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def peak_memory_one(device: str, batch: int, aggregator: str, variant: str) -> float:
    """Peak memory growth (MB) over the state before the first step, for ``variant``."""
    state = setup(device, batch)
    step = make_steps(*state, aggregator)[variant]
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        for _ in range(3):
            step()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    base_kb = _rss_kb()
    for _ in range(3):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_kb) / 1024


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=64, help="size of each of the two batches")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--aggregator", default="upgrad")
    ap.add_argument("--skip-autojac", action="store_true", help="skip the slow torchjd reference")
    ap.add_argument("--memory-of", choices=VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_of:
        print(peak_memory_one(args.device, args.batch, args.aggregator, args.memory_of))
        return
    variants = [v for v in VARIANTS if not (args.skip_autojac and v == "torchjd_autojac")]
    medians = time_steps(args.device, args.batch, args.repeats, args.aggregator, variants)
    peaks = {}
    for v in variants:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-of", v, "--device", args.device,
             "--batch", str(args.batch), "--aggregator", args.aggregator],
            capture_output=True, text=True, check=True, env=os.environ,
        )
        peaks[v] = round(float(out.stdout.strip().splitlines()[-1]), 1)
    n_params = sum(p.numel() for p in build_model("resnet18", (3, 32, 32), 10).parameters())
    p_mb = n_params * 4 / 2**20
    result = {
        "benchmark": "jd_step",
        "model": "resnet18 (CIFAR variant)",
        "device": args.device,
        "threads": torch.get_num_threads(),
        "batches": [args.batch, args.batch],
        "aggregator": args.aggregator,
        "repeats": args.repeats,
        "median_step_s": {k: round(v, 4) for k, v in medians.items()},
        "ratio_raul_to_weighted_sum": round(medians["raul"] / medians["weighted_sum"], 3),
        "ratio_raul_pref_to_weighted_sum": round(medians["raul_pref"] / medians["weighted_sum"], 3),
        "ratio_raul_pref_to_raul": round(medians["raul_pref"] / medians["raul"], 3),
        "ratio_scalarized_to_weighted_sum": round(medians["scalarized"] / medians["weighted_sum"], 3),
        "peak_memory_growth_mb": peaks,
        "parameter_buffer_mb": round(p_mb, 1),
        "raul_extra_peak_in_parameter_buffers": round((peaks["raul"] - peaks["weighted_sum"]) / p_mb, 2),
        # What the fast step holds between steps: the 2 x P Jacobian (the two gradient rows).
        # On the CPU its pages are first written after backward has freed the activations,
        # so it need not raise the peak; the aggregated direction (one P buffer) becomes .grad.
        "raul_jacobian_buffer_mb": round(2 * p_mb, 1),
        "torch": torch.__version__,
    }
    if "torchjd_autojac" in medians:
        result["ratio_torchjd_autojac_to_weighted_sum"] = round(
            medians["torchjd_autojac"] / medians["weighted_sum"], 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
