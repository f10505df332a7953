"""Per-KPI targets (the team's goals): an optional YAML or TOML file named by ``PMKPI_TARGETS_FILE``.

Format (YAML shown; TOML uses the same keys as tables)::

    nps:        {target: 40}
    churn_rate: {target: 3, direction: down}   # direction defaults to the catalog's

A KPI is on track when its value is at or beyond the target in the KPI's good direction.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

from .catalog import BY_ID


class TargetsFileError(ValueError):
    """The targets file is unreadable or names an unknown KPI or a bad value; says which."""


@dataclass(frozen=True)
class Target:
    """A KPI's target value and the direction in which it is met."""

    kpi: str
    value: float
    higher_is_better: bool

    def on_track(self, value: float) -> bool:
        """Whether ``value`` meets the target."""
        return value >= self.value if self.higher_is_better else value <= self.value


def load_targets(path: Path | None) -> dict[str, Target]:
    """Targets by KPI id; an empty mapping when no file is configured."""
    if path is None:
        return {}
    if not path.is_file():
        raise TargetsFileError(f"PMKPI_TARGETS_FILE={path}: file not found")
    try:
        text = path.read_text()
        raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TargetsFileError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'} ({exc})") from None
    targets: dict[str, Target] = {}
    for kpi, entry in (raw or {}).items():
        if kpi not in BY_ID:
            raise TargetsFileError(f"{path}: unknown KPI id {kpi!r}")
        entry = entry if isinstance(entry, dict) else {"target": entry}
        direction = entry.get("direction", "up" if BY_ID[kpi].higher_is_better else "down")
        try:
            value = float(entry["target"])
        except (KeyError, TypeError, ValueError):
            raise TargetsFileError(f"{path}: {kpi}: 'target' must be a number") from None
        if direction not in ("up", "down"):
            raise TargetsFileError(f"{path}: {kpi}: direction must be 'up' or 'down', not {direction!r}")
        targets[kpi] = Target(kpi, value, direction == "up")
    return targets
