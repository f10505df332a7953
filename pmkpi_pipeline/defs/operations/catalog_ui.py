"""How assets present themselves in the Dagster UI: owners and tags from configuration.

Groups and kinds are declared on the assets themselves (``raw_<source>``, ``staging``,
``kpis``; ``google_analytics``, ``mailchimp``, ``sql``, ``csv``, ``duckdb``). On top of those every
asset gets a ``layer`` tag (raw, staging, kpi) and, where it has one source, a ``source`` tag, so
the asset catalog can be filtered by either; owners come from ``PMKPI_ASSET_OWNERS`` and extra
tags from ``PMKPI_ASSET_TAGS``.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetsDefinition, AssetSpec, map_asset_specs

from .config import asset_owners, asset_tags

LAYER_PREFIXES = {"raw_": "raw", "stg_": "staging", "kpi_": "kpi"}


def layer_tags(spec: AssetSpec) -> dict[str, str]:
    """``layer`` (and ``source`` for raw/staging, ``kpi_family`` for KPI assets) from the asset's name."""
    name = spec.key.to_user_string()
    for prefix, layer in LAYER_PREFIXES.items():
        if name.startswith(prefix):
            rest = name[len(prefix):]
            extra = {"kpi_family": rest} if layer == "kpi" else {"source": rest}
            return {"layer": layer, **extra}
    return {}


def annotate(assets: Sequence[AssetsDefinition]) -> list[AssetsDefinition]:
    """The assets with owners (``PMKPI_ASSET_OWNERS``) and tags (layer/source + ``PMKPI_ASSET_TAGS``).

    Configuration is validated first, so a bad value fails the code location with its name.
    """
    groups = {spec.group_name for a in assets for spec in a.specs if spec.group_name}
    owners = asset_owners(groups)
    extra_tags = asset_tags()

    def _annotate(spec: AssetSpec) -> AssetSpec:
        tags = {**layer_tags(spec), **extra_tags}
        spec = spec.merge_attributes(tags=tags)
        group_owners = owners.get(spec.group_name or "", ())
        if group_owners:
            spec = spec.replace_attributes(owners=list(dict.fromkeys([*spec.owners, *group_owners])))
        return spec

    return list(map_asset_specs(_annotate, assets))
