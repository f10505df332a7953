"""The scale a day's history is modelled on: log for strictly positive histories, linear otherwise."""

from __future__ import annotations

import numpy as np

LOG_MIN_COUNT = 30  # counts are judged on the log scale only when every value is at least this


class Scale:
    """The scale each evaluated day's history is modelled on: log for strictly positive
    histories, linear otherwise (``log`` holds one flag per day; arrays passed in hold one
    value, or one row, per day)."""

    def __init__(self, log: np.ndarray):
        self.log = log

    def _rows(self, like: np.ndarray) -> np.ndarray:
        return self.log if like.ndim == 1 else self.log[:, None]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Values → model scale."""
        return np.where(self._rows(x), np.log(x), x)

    def backward(self, w: np.ndarray) -> np.ndarray:
        """Model scale → values."""
        return np.where(self._rows(w), np.exp(w), w)

    def variance(self, linear: np.ndarray, at: np.ndarray) -> np.ndarray:
        """A variance of values near ``at`` → model scale (delta method)."""
        return np.where(self._rows(at), linear / at**2, linear)


def on_scale(scale: Scale, values: np.ndarray) -> np.ndarray:
    """``values`` on the model's scale, NaN where they cannot be (a zero, long ago, of a series judged on logs)."""
    work = scale.forward(values)
    return np.where(np.isfinite(work), work, np.nan)
