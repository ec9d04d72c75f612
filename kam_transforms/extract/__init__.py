"""Extract connectors: each lands canonical entities as Parquet batches in the lake.

- :func:`extract` (the task entry point) runs one entity through its source's configured
  connector (``KAM_CRM_CONNECTOR`` = files | hubspot, ``KAM_ERP_CONNECTOR`` = files | odoo);
- :func:`run_extract` does window -> fetch -> :func:`land_batch` -> watermark for any
  :class:`Connector` (:class:`FileDropConnector`, :class:`HubSpotConnector`,
  :class:`OdooConnector`);
- :func:`land_entity` / :func:`land_exports` are the original CSV file-drop landing (key
  checks only), kept for the existing pipeline.
"""

from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.files import ExtractError, LandResult, land_entity, land_exports
from kam_transforms.extract.hubspot import HubSpotAuthError, HubSpotConnector
from kam_transforms.extract.landing import (
    BatchOutcome,
    RawValidationError,
    SchemaDriftError,
    land_batch,
    landed_rows,
)
from kam_transforms.extract.odoo import OdooConnector
from kam_transforms.extract.rules import RULES, EntityRules
from kam_transforms.extract.run import (
    Connector,
    Fetched,
    Window,
    connector_for,
    extract,
    run_extract,
)
from kam_transforms.extract.state import WatermarkStore

__all__ = [
    "RULES",
    "BatchOutcome",
    "Connector",
    "EntityRules",
    "ExtractError",
    "Fetched",
    "FileDropConnector",
    "HubSpotAuthError",
    "HubSpotConnector",
    "LandResult",
    "OdooConnector",
    "RawValidationError",
    "SchemaDriftError",
    "WatermarkStore",
    "Window",
    "connector_for",
    "extract",
    "land_batch",
    "land_entity",
    "land_exports",
    "landed_rows",
    "run_extract",
]
