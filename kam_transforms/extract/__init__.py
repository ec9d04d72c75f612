"""Extract connectors: each lands canonical entities as Parquet batches in the lake.

- :func:`extract` (the task entry point, :mod:`~kam_transforms.extract.connectors`) runs one
  entity through its source's configured connector (``KAM_CRM_CONNECTOR`` = files |
  hubspot, ``KAM_ERP_CONNECTOR`` = files | odoo);
- :func:`run_extract` does window -> fetch -> :func:`land_parts` (streamed :class:`Part`
  record batches; :func:`land_batch` for one in-memory frame) -> watermark for any
  :class:`Connector` (:class:`FileDropConnector`, :class:`HubSpotConnector`,
  :class:`OdooConnector`);
- :func:`land_exports` lands a whole file drop through the same path (tests, ad-hoc runs).
"""

from kam_transforms.extract.connectors import CONNECTOR_ENV, connector_for, extract, land_exports
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.files import ExtractError, LandResult
from kam_transforms.extract.hubspot import HubSpotAuthError, HubSpotConnector
from kam_transforms.extract.landing import (
    BatchOutcome,
    Part,
    RawValidationError,
    SchemaDriftError,
    land_batch,
    land_parts,
    landed_rows,
)
from kam_transforms.extract.odoo import OdooConnector
from kam_transforms.extract.rules import RULES, EntityRules
from kam_transforms.extract.run import (
    Connector,
    Fetched,
    Window,
    ordered_entities,
    run_extract,
)
from kam_transforms.extract.state import WatermarkStore

__all__ = [
    "CONNECTOR_ENV",
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
    "Part",
    "RawValidationError",
    "SchemaDriftError",
    "WatermarkStore",
    "Window",
    "connector_for",
    "extract",
    "land_batch",
    "land_exports",
    "land_parts",
    "landed_rows",
    "ordered_entities",
    "run_extract",
]
