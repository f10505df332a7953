"""Anomaly detection for daily KPI series: a noise model per KPI shape, seasonal, trend-aware, robust, count-aware.

Three models, chosen from the KPI's shape (``AnomalyParams.window_days``, ``point_in_time``) and checked against
the series itself (:mod:`.series`): the **daily model** below for a KPI of its own day; the **window model**
(:mod:`.window`) for a trailing window of several days, judged against the earlier windows that share none of its
days; the **stock model** (:mod:`.stock`) for a point-in-time KPI, judged on the day's change. A day none of them
can judge is ``not_judged``, with the reason (:mod:`.verdict`); never a pass.

The daily model: every day is judged only against the days before it: the previous ``history_days`` calendar days
(28 by default; their usable points are the history size), with the ``reference_days`` before
today (84) sharpening what 28 days estimate poorly, and the ``seasonal_days`` (168) the weekday pattern.
Missing days and NaN values are skipped. The model is fitted for all days of a series at once, with
vectorised numpy operations:

* **scale** — series that are not proportions or small counts and whose history is strictly
  positive are modelled on the log scale (weekday dips, growth and noise are relative);
  proportions, signed ratios, counts below 30 and anything with zeros or negatives on the
  linear scale.
* **weekday seasonality** — the seasonal span's whole weeks, less their trend, are centred on
  their own robust means and each weekday's effect is a robust (Huber) mean over them, shrunk towards
  none when it is not clearly larger than its own estimation noise.
* **level, chosen by replay** — candidates are robust means of the last 1, 3, 7, 14 or 28
  de-seasonalised values, flat or carried forward by their own trend (the change from the same
  number of days before). Each is replayed over the reference span (every past day predicted from
  the days before it; past outliers replaced by their neighbourhood's level first) and the one
  with the smallest robust error, times ``1 + 1/window`` (``2/window`` when trended) so that a
  short or trended level must win clearly and not by the replay's luck, wins: a long mean for a
  steady series (close to knowing the true mean), a short or trended one for a smooth or wandering one.
  Where the winner's replay errors are clearly correlated from one day to the next (a level lagging a
  bending curve), their lag-1 share (errors clipped at ``_CARRY_CLIP`` sd) is added to the next prediction.
* **noise** — that winner's robust replay error, pooled across weekdays (a weekday whose errors run
  wider or narrower gets its share, shrunk towards the pool), beyond each day's own sampling noise:
  binomial over that day's denominator for a proportion, (1−m)(1+m)/d for signed ratios such as
  NPS, a coefficient of variation of 1 per unit for other ratios, Poisson for counts — so a rate
  over five users cannot alarm while one over thousands stays sharp. A short replay (a young
  series) is shrunk towards the noise the lagged differences imply.
* **sustained deviations** — the mean of the last c days against the level predicted before them,
  for every c up to ``history_days``, compared with that same statistic at every earlier day
  (so a trend or wandering does not count); beyond ``sensitivity`` it is a change. A dip keeps
  being judged against the level before it for ``shift_days`` days, then the new level is adopted (extended to
  today by the slope within it when that slope is clear: a curve that keeps bending); once the last days are back
  near the old level, the change is over.
* **one alert per run** (:func:`.shifts.repeats`) — from a run's third day on, a day that only continues a run
  flagged on an earlier day passes, and so does the day back at the level before a lasting flagged run; after an
  isolated spike, the next day is also judged against the level without it (:mod:`.level`).

The score is the deviation of today's value from the expected one in standard deviations of
the prediction (process and sampling noise, the weekday effect's estimation error; at least
``min_relative_scale`` of the expected value; a rise in a count on the linear scale is measured half a count
nearer, from the lower edge of that count), studentised: as the noise is estimated from a
limited replay, the deviation is read as Student-t and reported as the normal deviate of the same
tail probability (a young series needs a larger deviation for the same score); a day is an anomaly when ``|score| >
sensitivity``, named "spike" or "drop" (one day),
"sustained dip" or "level shift" (a run). The expected range is the values whose score is within those
thresholds — asymmetric on the log scale — clipped to the values the KPI can take (a return to the level
before a dip passes though it is outside the range around the dip's level).

Where each part lives: :mod:`.params` (the parameters), :mod:`.series` (validating a series, laying out each
judged day's history, choosing its model), :mod:`.daily` (the model above), :mod:`.window`, :mod:`.stock` (the
other two), :mod:`.scale`, :mod:`.seasonality`, :mod:`.noise`, :mod:`.level`, :mod:`.shifts` (the daily model's
parts), :mod:`.robust` (the robust statistics they share) and :mod:`.verdict` (the verdict and its readable rule).
"""

from .params import AnomalyParams
from .series import assess_series
from .verdict import Verdict

__all__ = ["AnomalyParams", "Verdict", "assess_series"]
