"""The stand-in for credentials records carry."""

from __future__ import annotations

from tap_common.redaction import fingerprint


def test_a_fingerprint_is_stable_distinct_and_never_holds_the_key() -> None:
    key = "wk_live_8f3b2c1d9e7a6f5b"
    assert fingerprint(key) == fingerprint(key)
    assert fingerprint(key) != fingerprint(key + "x")
    assert key not in str(fingerprint(key))
    assert str(fingerprint(key)).startswith("sha256:")
    assert fingerprint(None) is None
