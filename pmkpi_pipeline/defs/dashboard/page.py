"""The dashboard as one self-contained HTML page: Jinja2 template, inline SVG sparklines, no script, no network.

Every number is text on the page (a sparkline repeats its numbers in its label and below it), colours
are not the only signal (arrows, signs and words say better/worse and on/off track), and the text
colours keep at least 4.5:1 contrast against their backgrounds.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .data import PERIOD_DAYS, Dashboard, KpiCard

MAX_BYTES = 3 * 1024 * 1024
"""The page must stay small enough to mail: at most 3 MB."""
DECIMALS = {"%": 2, "currency": 2, "views": 0, "seconds": 1, "days": 1, "score": 1, "pages": 2}
SUFFIXES = {"%": "%", "seconds": " s", "days": " days", "views": " views", "pages": " pages", "score": " pts"}
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 250, 44, 4
TEMPLATES = Path(__file__).parent / "templates"


class DashboardTooLarge(RuntimeError):
    """The rendered page exceeds :data:`MAX_BYTES`."""


def number(value: float, unit: str, signed: bool = False) -> str:
    """``value`` with the KPI unit's decimals and thousands separators (``+`` for positive when ``signed``)."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:{'+' if signed else ''},.{DECIMALS.get(unit, 2)}f}"


def with_unit(value: float | None, unit: str, currency: str, signed: bool = False) -> str:
    """A value as the page shows it, e.g. ``41.20%``, ``12,345.00 USD``, ``1,234 views``; ``—`` for none."""
    if value is None:
        return "—"
    suffix = f" {currency}" if unit == "currency" else SUFFIXES.get(unit, f" {unit}")
    return number(value, unit, signed) + suffix


def change_text(card: KpiCard, currency: str) -> str:
    """The change against the previous period: percentage points for a rate, else amount and relative %."""
    change, unit = card.change, card.kpi.unit
    if change is None:
        return f"no value to compare with on {card.previous_day}" if card.previous is None else "no latest value"
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    if unit == "%":
        text = with_unit(change, "pp", currency, signed=True)  # percentage points
    else:
        text = with_unit(change, unit, currency, signed=True)
        if card.previous:
            text += f" ({change / abs(card.previous) * 100:+.1f}%)"
    return f"{arrow} {text} vs {card.previous_day}"


def change_verdict(card: KpiCard) -> str:
    """``better``, ``worse`` or ``same`` in the KPI's good direction (``none`` without a change)."""
    change = card.change
    if change is None:
        return "none"
    if change == 0:
        return "same"
    return "better" if (change > 0) == card.higher_is_better else "worse"


def expected_text(low: float | None, high: float | None, unit: str, currency: str) -> str:
    """A check's expected range: ``low – high``, ``≥ low``, ``≤ high`` or ``—``."""
    if low is not None and high is not None:
        return f"{with_unit(low, unit, currency)} – {with_unit(high, unit, currency)}"
    if low is not None:
        return f"≥ {with_unit(low, unit, currency)}"
    if high is not None:
        return f"≤ {with_unit(high, unit, currency)}"
    return "—"


def sparkline(card: KpiCard, currency: str) -> Markup:
    """The last 90 days as an inline SVG line, flagged days as red dots, the target as a dashed line; its
    label says the same in words."""
    known = [(i, v) for i, (_, v) in enumerate(card.series) if v is not None and math.isfinite(v)]
    if not known:
        return Markup('<p class="muted">No values in the last {} days.</p>').format(PERIOD_DAYS)
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(len(card.series) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        y = SPARK_HEIGHT / 2 if high == low else SPARK_HEIGHT - SPARK_PAD - (v - low) / span * (
            SPARK_HEIGHT - 2 * SPARK_PAD)
        return round(SPARK_PAD + i * step, 1), round(y, 1)

    path, previous = [], None
    for i, v in known:
        x, y = xy(i, v)
        path.append(f"{'L' if previous == i - 1 else 'M'}{x} {y}")
        previous = i
    unit = card.kpi.unit
    parts = [f'<path d="{" ".join(path)}" class="line"/>']
    target = card.target.value if card.target else None
    if target is not None and low <= target <= high:
        parts.append(f'<line x1="0" x2="{SPARK_WIDTH}" y1="{xy(0, target)[1]}" y2="{xy(0, target)[1]}" '
                     f'class="target-line"/>')
    index = {day: i for i, (day, _) in enumerate(card.series)}
    values = dict(card.series)
    for day in sorted({f.day for f in card.flagged}):
        value = values.get(day)
        if value is None or not math.isfinite(value):
            continue
        x, y = xy(index[day], value)
        kinds = ", ".join(sorted({f.kind for f in card.flagged if f.day == day}))
        parts.append(f'<circle cx="{x}" cy="{y}" r="3.2" class="flag"><title>'
                     f'{html.escape(f"{day}: {with_unit(value, unit, currency)} ({kinds})")}</title></circle>')
    last_i, last_v = known[-1]
    x, y = xy(last_i, last_v)
    parts.append(f'<circle cx="{x}" cy="{y}" r="2.4" class="last"/>')
    flagged = sorted({f.day.isoformat() for f in card.flagged})
    label = (f"{card.kpi.title}, last {PERIOD_DAYS} days: lowest {with_unit(low, unit, currency)}, highest "
             f"{with_unit(high, unit, currency)}; {len(flagged)} flagged day(s)"
             + (f": {', '.join(flagged)}" if flagged else "")
             + (f"; {card.not_judged_days} day(s) the anomaly check could not judge" if card.not_judged_days else ""))
    return Markup(f'<svg class="spark" role="img" aria-label="{html.escape(label)}" width="{SPARK_WIDTH}" '
                  f'height="{SPARK_HEIGHT}" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}">'
                  f'<title>{html.escape(label)}</title>{"".join(parts)}</svg>')


def series_range(card: KpiCard) -> tuple[float, float] | None:
    """Lowest and highest value of the card's series (None without values)."""
    known = [v for _, v in card.series if v is not None and math.isfinite(v)]
    return (min(known), max(known)) if known else None


def render_page(dashboard: Dashboard) -> str:
    """The whole page as HTML text."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(with_unit=with_unit, change_text=change_text, change_verdict=change_verdict,
                       expected_text=expected_text, sparkline=sparkline, series_range=series_range,
                       PERIOD_DAYS=PERIOD_DAYS)
    return env.get_template("dashboard.html.j2").render(page=dashboard)


def write_page(text: str, path: Path) -> int:
    """Write the page to ``path`` whole or not at all (a reader never sees half a file); its size in bytes."""
    data = text.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise DashboardTooLarge(f"the dashboard would be {len(data):,} bytes, over the {MAX_BYTES:,}-byte limit")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(data)
