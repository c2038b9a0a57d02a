"""The ``regression`` sampler: the deterministic baseline of Diff4Steer (Table 2, "regression").

The same backbone and weights format as the diffusion prior, trained to predict the target in one
pass: the prediction is ``D(0, σ(1), q)`` (:func:`genseek.samplers.edm.regression_predict`). It
returns a single seed whatever ``n`` is (MISCS = 1: no diversity), which is the point of the
comparison. Controls: ``slerp`` and ``align`` (as for ``diffusion``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base import SeedSet
from .edm import regression_predict
from .prior import PriorSampler


class RegressionSampler(PriorSampler):
    id = "regression"
    kind = "regression"
    description = "deterministic regression prior (Diff4Steer baseline): one seed per query"
    controls = frozenset({"slerp", "align"})

    def sample(self, query: np.ndarray, n: int, *, generator: np.random.Generator, **controls: Any) -> SeedSet:
        return SeedSet(vectors=self.predict([query], **controls)[0][None, :], labels=("regression",), info={"deterministic": True})

    def predict(self, queries: list[np.ndarray] | np.ndarray, *, slerp: Any = None, align: Any = None) -> np.ndarray:
        """One seed per query, ``(Q, d)`` float32, in one forward pass."""
        cond, mask = self.condition_tensor(list(queries))
        with torch.inference_mode():
            out = regression_predict(self.weights.model, cond, sigma_max=self.config.schedule.sigma_max, cond_mask=mask)
            out = self.finish_seeds(out, align=align, slerp_to=slerp)
        return out.cpu().numpy().astype(np.float32)


__all__ = ["RegressionSampler"]
