"""The code location: everything under ``defs/`` autoloaded, then owners and tags from configuration.

Every ``PMKPI_*`` variable is validated as the location loads, so a malformed one fails here with
its name rather than mid-run.
"""

from pathlib import Path

from dagster import Definitions, definitions, load_from_defs_folder

from .defs.operations.ownership import annotate
from .lib.settings import load_settings


@definitions
def defs() -> Definitions:
    """Every asset, check, job, schedule, sensor and resource of ``defs/``, annotated for the UI."""
    settings = load_settings()
    return annotate(load_from_defs_folder(path_within_project=Path(__file__).parent), settings)
