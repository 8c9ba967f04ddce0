"""Known change points as typed: row numbers in any order and spacing, refused when not rows."""

from __future__ import annotations

import pytest

from lstm_core.changepoints import parse_rows
from lstm_core.errors import DataError


def test_parse_rows():
    assert parse_rows("300, 100 100\n200") == [100, 200, 300]
    assert parse_rows("  ") == []
    with pytest.raises(DataError, match="'1.5' is not a row number"):
        parse_rows("1.5")
