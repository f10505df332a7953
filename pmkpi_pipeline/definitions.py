"""The code location: everything under ``defs/`` autoloaded, then owners, tags and links to the source code.

Every ``PMKPI_*`` variable is validated as the location loads, so a malformed one fails here with
its name rather than mid-run.
"""

from pathlib import Path

from dagster import Definitions, definitions, load_from_defs_folder, with_source_code_references

from .defs.operations.ownership import annotate
from .lib.settings import load_settings


@definitions
def defs() -> Definitions:
    """Every asset, check, job, schedule, sensor and resource of ``defs/``, annotated for the UI."""
    settings = load_settings()
    loaded = annotate(load_from_defs_folder(path_within_project=Path(__file__).parent), settings)
    return Definitions(  # the same definitions, each asset linked to the file and line of its body
        assets=with_source_code_references(list(loaded.assets or ())), asset_checks=loaded.asset_checks,
        jobs=loaded.jobs, schedules=loaded.schedules, sensors=loaded.sensors, resources=loaded.resources,
        executor=loaded.executor, loggers=loaded.loggers, metadata=loaded.metadata)
