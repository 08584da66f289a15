#!/usr/bin/env bash
# GPU readiness check (one H200, < 8 minutes): times one CIFAR-10-shaped ResNet-18 training
# epoch, one RAUL run, and 4 concurrent trials sharing the GPU; prints JSON.
# Uses random CIFAR-shaped tensors when no CIFAR-10 files are under ${DATA_ROOT:-data}
# (the machine has no network), which times the same computation.
#   bash analysis/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
exec "$PY" - <<'PYEOF'
import json, os, time, threading
import torch
import paretoul
from paretoul.data.base import DataBundle
from paretoul.data import make_splits
from paretoul.artefacts import Artefacts, TrainedModel
from paretoul.training import Recipe, sgd_train
from paretoul.device import generator

assert torch.cuda.is_available(), "no CUDA device"
dev = torch.device("cuda")
root = os.environ.get("DATA_ROOT", "data")
try:
    data = paretoul.load_dataset("cifar10", root).to(dev); source = "cifar10 files"
except paretoul.UserError:
    g = torch.Generator().manual_seed(0)
    data = DataBundle("cifar10-shaped", torch.randn(50000, 3, 32, 32, generator=g),
                      torch.randint(0, 10, (50000,), generator=g), torch.randn(10000, 3, 32, 32, generator=g),
                      torch.randint(0, 10, (10000,), generator=g), 10, augment=True).to(dev)
    source = "random CIFAR-shaped tensors"
out = {"device": torch.cuda.get_device_name(0), "data": source, "torch": torch.__version__}
splits = make_splits(data.train_y.cpu().numpy(), len(data.test_y), "random:0.1", 0, 0.1, 10)

def new_model():
    return paretoul.build_model("resnet18", (3, 32, 32), 10, seed=0).to(dev).to(memory_format=torch.channels_last)

m = new_model()
rec = Recipe(epochs=1, lr=0.1, batch_size=256, schedule="constant")
sgd_train(m, data, splits.train[:2560], rec, generator(0, dev))  # warm-up
torch.cuda.synchronize(); t = time.perf_counter()
sgd_train(m, data, splits.train, rec, generator(0, dev))
torch.cuda.synchronize(); out["train_epoch_s"] = round(time.perf_counter() - t, 2)

def artefacts():
    tm = TrainedModel(m, "none", "", 0.0, None)
    return Artefacts("cifar10", "resnet18", 0, data, splits, rec, tm, tm, 0.0)

art = artefacts()
t = time.perf_counter()
r = paretoul.unlearn_and_evaluate(art, "raul", {"epochs": 1, "batch_size": 256})
torch.cuda.synchronize(); out["raul_1_epoch_run_s"] = round(time.perf_counter() - t, 2)
out["raul_unlearn_s"] = round(r.unlearn_seconds, 2)

def trial(i, times):
    t0 = time.perf_counter()
    paretoul.unlearn_and_evaluate(art, "raul", {"epochs": 1, "batch_size": 256, "lr": 0.01 * (i + 1)})
    times[i] = time.perf_counter() - t0

times = {}
t = time.perf_counter()
threads = [threading.Thread(target=trial, args=(i, times)) for i in range(4)]
[th.start() for th in threads]; [th.join() for th in threads]
torch.cuda.synchronize()
out["four_concurrent_raul_wall_s"] = round(time.perf_counter() - t, 2)
out["four_concurrent_speedup_vs_serial"] = round(4 * out["raul_1_epoch_run_s"] / out["four_concurrent_raul_wall_s"], 2)
out["peak_gpu_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
print(json.dumps(out, indent=2))
PYEOF
