"""The per-model evaluation context every metric reads from: one model's outputs on each part,
the splits, and optionally the retrain oracle's context; expensive pieces are computed once."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import torch

from paretoul.data.splits import Splits
from paretoul.metrics.membership import membership_auc, mia_efficacy
from paretoul.metrics.outputs import Outputs


class EvalContext:
    """Everything a metric may read about one model; expensive pieces computed once."""

    def __init__(
        self,
        outputs: Outputs,
        train_y: torch.Tensor | np.ndarray,
        test_y: torch.Tensor | np.ndarray,
        splits: Splits,
        oracle: EvalContext | None = None,
        runtime_s: float | None = None,
    ) -> None:
        self.outputs = outputs
        self.train_y = torch.as_tensor(np.asarray(train_y.cpu() if torch.is_tensor(train_y) else train_y))
        self.test_y = torch.as_tensor(np.asarray(test_y.cpu() if torch.is_tensor(test_y) else test_y))
        self.splits = splits
        self.oracle = oracle
        self.runtime_s = runtime_s

    # -- per-set views ---------------------------------------------------------------------
    def _indices(self, part: str) -> torch.Tensor:
        if part == "matched_reference":
            return self._matched_reference
        return torch.as_tensor(getattr(self.splits, part))

    @cached_property
    def _matched_reference(self) -> torch.Tensor:
        # Reference samples of the classes present in the forget set: all of them for random
        # forgetting, only the forgotten classes for class-wise forgetting.
        ref = torch.as_tensor(self.splits.reference)
        classes = self.train_y[torch.as_tensor(self.splits.forget)].unique()
        return ref[torch.isin(self.train_y[ref], classes)]

    @cached_property
    def _test_parts(self) -> dict[str, torch.Tensor]:
        # Class-wise forgetting (as SalUn; paretoul/README.md#protocol-what-the-numbers-mean):
        # "test" holds the test samples
        # of the retained classes only (TA, the MIA's non-members, JS on test); the forgotten
        # classes' test samples are "test_forgotten" (their accuracy is ta_forgotten).
        test = torch.as_tensor(self.splits.test)
        gone = torch.isin(self.test_y[test], torch.as_tensor(self.splits.forgotten_classes,
                                                              dtype=self.test_y.dtype))
        return {"test": test[~gone], "test_forgotten": test[gone]}

    def probs(self, part: str) -> torch.Tensor:
        """Softmax rows of ``part``: forget, retain, reference, matched_reference, test (the
        retained classes' test samples under class-wise forgetting) or test_forgotten."""
        if part in self._test_parts:
            return self.outputs.test[self._test_parts[part]]
        return self.outputs.train[self._indices(part)]

    def labels(self, part: str) -> torch.Tensor:
        if part in self._test_parts:
            return self.test_y[self._test_parts[part]]
        return self.train_y[self._indices(part)]

    def accuracy(self, part: str) -> float:
        """Accuracy in percent on ``part`` (NaN for an empty part)."""
        return self._accuracy[part]

    def confidence(self, part: str) -> np.ndarray:
        """Softmax probability of the true label, per sample of ``part``."""
        p = self.probs(part)
        return p.gather(1, self.labels(part)[:, None]).squeeze(1).double().numpy()

    @cached_property
    def _accuracy(self) -> dict[str, float]:
        out = {}
        for part in ("forget", "retain", "reference", "matched_reference", "test", "test_forgotten"):
            p = self.probs(part)
            out[part] = float("nan") if len(p) == 0 else 100.0 * float(
                (p.argmax(1) == self.labels(part)).double().mean()
            )
        return out

    @cached_property
    def mia(self) -> float:
        return mia_efficacy(
            self.confidence("retain"), self.confidence("test"), self.confidence("forget")
        )

    @cached_property
    def ref_auc(self) -> float:
        if len(self._matched_reference) == 0:
            return float("nan")
        return membership_auc(self.confidence("forget"), self.confidence("matched_reference"))

    def require_oracle(self) -> EvalContext:
        if self.oracle is None:
            raise ValueError("this metric needs the retrain oracle")
        return self.oracle
