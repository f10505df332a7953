"""The code location: everything under ``defs/`` autoloaded, then owners and tags from configuration.

Settings are validated as the location loads, so a malformed ``PMKPI_*`` variable fails here with
its name rather than mid-run.
"""

from pathlib import Path

from dagster import Definitions, definitions, load_from_defs_folder

from .defs.operations.ownership import annotate
from .lib import operations_config, settings


@definitions
def defs() -> Definitions:
    """Every asset, check, job, schedule, sensor and resource of ``defs/``, annotated for the UI."""
    settings.validate()
    operations_config.alert_webhook_url()  # the sensors read it per alert; fail now when malformed
    return annotate(load_from_defs_folder(path_within_project=Path(__file__).parent))
