"""The weekday pattern: each weekday's effect learnt over whole weeks, shrunk towards none when it is mostly noise,
and how much wider or narrower a weekday's errors run."""

from __future__ import annotations

import numpy as np

from .robust import HUBER_VAR, huber, lagged, nanmedian, one_value_sd

_WEEK_CENTRING_VAR = 1 - (2 - HUBER_VAR) / 7  # var(value − its week's robust mean) / var(value)
_WEEKDAY_PRIOR = 8  # errors of ratio 1 a weekday's own noise ratio is shrunk with


def weekly_effects(work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weekday effects (column 0 = today's weekday), centred, and the weeks each is seen in.

    Each whole week of the seasonal span ``work``, less the span's rough trend, is centred on its
    robust mean; a weekday's effect is the robust mean over weeks.
    """
    n, h = work.shape
    slope = np.nan_to_num(nanmedian(work[:, 7:] - work[:, :-7]) / 7)
    spread = one_value_sd(lagged(work, (7, 14), centre=True))
    weeks = h // 7
    block = (work[:, h - 7 * weeks :] - slope[:, None] * np.arange(h - 7 * weeks, h)).reshape(n, weeks, 7)
    centred = block - huber(block, spread[:, None, None])[..., None]
    effects = np.stack([huber(centred[:, :, p], spread[:, None]) for p in range(7)], axis=1)
    effects = np.nan_to_num(effects - np.nanmean(effects, axis=1, keepdims=True))
    return effects, np.maximum((~np.isnan(centred)).sum(axis=1), 1)


def shrink(
    effects: np.ndarray, weeks_seen: np.ndarray, noise: np.ndarray, position: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weekday effects shrunk towards none, and the variance of today's effect.

    Each effect's estimation variance follows from its weekday's noise; the pattern keeps
    the share ``1 − expected noise energy / observed energy`` (0 when it is mostly noise).
    """
    per_weekday = np.stack([np.nanmean(noise[:, position == p], axis=1) for p in range(7)], axis=1)
    variance = HUBER_VAR * _WEEK_CENTRING_VAR * np.nan_to_num(per_weekday) / weeks_seen
    energy = (effects**2).sum(axis=1)
    expected_energy = variance.sum(axis=1) * 6 / 7
    keep = np.clip(1 - expected_energy / np.maximum(energy, 1e-300), 0, 1)
    return effects * keep[:, None], keep * variance[:, 0]


def weekday_factor(standardised: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Per row, how much wider the errors on today's weekday are than on all days (a variance ratio),
    shrunk towards 1 as if ``_WEEKDAY_PRIOR`` more errors of ratio 1 were seen: noise that is not
    proportional to the level (weekend noise on the log scale, say) widens or narrows that day's range."""
    mine = np.where(position == 0, np.clip(standardised, -3, 3), np.nan)
    squares = np.nanmean(np.clip(standardised, -3, 3) ** 2, axis=1)
    seen = (~np.isnan(mine)).sum(axis=1)
    ratio = np.nan_to_num(np.nanmean(mine**2, axis=1) / np.where(squares > 0, squares, 1.0), nan=1.0)
    return (seen * ratio + _WEEKDAY_PRIOR) / (seen + _WEEKDAY_PRIOR)
