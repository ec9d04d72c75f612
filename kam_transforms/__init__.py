"""Key Account Management warehouse pipeline: extract, CLV, validation, publish, alerts."""

__all__ = ["__version__"]

__version__ = "0.1.0"
