"""Errors the taps raise beyond the SDK's own."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class CredentialError(FatalAPIError):
    """The API refused the credential (401/403, a refused token exchange): retrying can't help."""
