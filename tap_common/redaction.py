"""Keep secrets out of every message a tap logs or raises."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "****"
# Shorter values would mask ordinary words and numbers; no real credential is this short.
MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces every known secret value in a text with a mask."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Remember one more secret (for example an access token issued mid-sync)."""
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        """Return ``text`` with every known secret masked, longest first."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text


def secret_setting_names(config_jsonschema: Mapping[str, Any]) -> list[str]:
    """Names of the settings a tap declares with ``secret=True``."""
    properties = config_jsonschema.get("properties", {})
    return [name for name, spec in properties.items() if spec.get("secret")]


def secret_values(config: Mapping[str, Any], config_jsonschema: Mapping[str, Any]) -> list[str]:
    """The values of the secret settings present in ``config``, as strings."""
    names = secret_setting_names(config_jsonschema)
    return [str(config[name]) for name in names if config.get(name) is not None]


def fingerprint(secret: str | None) -> str | None:
    """A stable stand-in for a credential a record carries (a write key, an SDK or stream key).

    The same key always gives the same value, so a warehouse can still join, count and notice a
    rotated key, but the key itself never leaves the tap. SHA-256 of a random key of this
    length cannot be reversed.
    """
    if secret is None:
        return None
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
