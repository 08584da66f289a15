"""A method's unlearning time (RTE) is the method's own: torch's one-time loading on its first
optimizer (``torch._dynamo`` and sympy, about 2 s on a CPU) happens before the clock starts.
Checked without timing anything: a probe method records what is loaded when it is called."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from dataclasses import dataclass

import paretoul
from paretoul.methods import Method, MethodConfig, UnlearnResult, register_method


@dataclass(frozen=True)
class ProbeConfig(MethodConfig):
    pass


seen = []


@register_method
class Probe(Method):
    name = "probe"
    summary = "records which libraries are loaded when the unlearning clock starts"
    Config = ProbeConfig

    def unlearn(self, model, ctx, config):
        seen.append("torch._dynamo" in sys.modules)
        return UnlearnResult(model, {})


art = paretoul.prepare(paretoul.Setting("digits", "mlp", "random:0.1", recipe={"epochs": 1}), [0],
                       cache_dir=sys.argv[1])[0]
paretoul.unlearn_and_evaluate(art, "probe")
print(json.dumps(seen))
"""


def test_torch_first_optimizer_loads_before_the_unlearning_clock(tmp_path: Path) -> None:
    for _ in range(2):  # the second run finds the models cached: nothing built an optimizer yet
        r = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout.strip().splitlines()[-1]) == [True]
