"""Owners and tags of the assets from configuration (``PMKPI_ASSET_OWNERS``, ``PMKPI_ASSET_TAGS``).

Groups, kinds and the ``layer`` / ``source`` / ``kpi_family`` tags are declared on the assets
themselves; this adds what the team configures, through Dagster's ``Definitions.map_asset_specs``.
"""

from __future__ import annotations

from dagster import AssetSpec, Definitions

from ...lib.operations_config import asset_owners, asset_tags


def annotate(defs: Definitions) -> Definitions:
    """``defs`` with owners (``PMKPI_ASSET_OWNERS``, per group) and extra tags (``PMKPI_ASSET_TAGS``).

    Configuration is validated first, so a bad value fails the code location with its name.
    """
    groups = {spec.group_name for a in defs.assets or () for spec in getattr(a, "specs", ()) if spec.group_name}
    owners = asset_owners(groups)
    extra_tags = asset_tags()

    def _annotate(spec: AssetSpec) -> AssetSpec:
        spec = spec.merge_attributes(tags=extra_tags) if extra_tags else spec
        group_owners = owners.get(spec.group_name or "", ())
        if group_owners:
            spec = spec.replace_attributes(owners=list(dict.fromkeys([*spec.owners, *group_owners])))
        return spec

    return defs.map_asset_specs(func=_annotate)
