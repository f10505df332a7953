"""Owners and tags of the assets from configuration (``PMKPI_ASSET_OWNERS``, ``PMKPI_ASSET_TAGS``).

Groups, kinds and the ``layer`` / ``source`` / ``kpi_family`` tags are declared on the assets
themselves; this adds what the team configures, through Dagster's ``Definitions.map_asset_specs``.
"""

from __future__ import annotations

from dagster import AssetSpec, Definitions

from ...lib.settings import Settings, load_settings


def annotate(defs: Definitions, settings: Settings | None = None) -> Definitions:
    """``defs`` with owners (``PMKPI_ASSET_OWNERS``, per group) and extra tags (``PMKPI_ASSET_TAGS``).

    An owner naming an unknown group or not an owner fails with the variable's name.
    """
    settings = settings or load_settings()
    groups = {spec.group_name for a in defs.assets or () for spec in getattr(a, "specs", ()) if spec.group_name}
    owners = settings.owners_by_group(groups)
    extra_tags = settings.asset_tags

    def _annotate(spec: AssetSpec) -> AssetSpec:
        spec = spec.merge_attributes(tags=extra_tags) if extra_tags else spec
        group_owners = owners.get(spec.group_name or "", ())
        if group_owners:
            spec = spec.replace_attributes(owners=list(dict.fromkeys([*spec.owners, *group_owners])))
        return spec

    return defs.map_asset_specs(func=_annotate)
