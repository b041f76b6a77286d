"""Every record a tap builds fits its stream's schema: nothing the SDK would have to drop.

The SDK removes a property missing from the schema before it emits the record, with a warning
(a partition context key added to every record, for example): a column silently lost.
"""

from __future__ import annotations

import pytest

from tests.harness import run_tap
from tests.reliability.cases import CASES


@pytest.mark.parametrize("case", CASES, ids=str)
def test_no_record_carries_a_property_its_schema_lacks(case):
    emulator = case.start_emulator()
    try:
        result = run_tap(case.tap_class, case.settings(emulator))
    finally:
        emulator.stop()
    assert result.error is None, str(result.error)
    assert {table for table in case.keys if result.records(table)} == set(case.keys)
    assert "not found in catalog schema" not in result.logs
