"""Named exceptions for the CLV model's domain errors."""

from __future__ import annotations

__all__ = ["CLVError", "InsufficientDataError", "ModelFitError"]


class CLVError(Exception):
    """Base class for every domain error raised by :mod:`kam_transforms.clv`."""


class InsufficientDataError(CLVError):
    """The data cannot support a fit: too few customers, repeat buyers or positive margins.

    ``reason`` is a short machine-readable code (for example ``"too_few_customers"``) and
    is what :func:`kam_transforms.clv.score_customers` records as the fallback reason.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ModelFitError(CLVError):
    """The optimiser did not reach a finite maximum of the likelihood."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
