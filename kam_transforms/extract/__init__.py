"""Extract connectors: each lands canonical entities as Parquet batches in the lake."""

from kam_transforms.extract.files import ExtractError, LandResult, land_entity, land_exports

__all__ = ["ExtractError", "LandResult", "land_entity", "land_exports"]
