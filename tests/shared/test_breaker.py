"""The circuit breaker's policy and decision, on the shared core."""

from __future__ import annotations

import pytest

from streamd.shared import PolicyError, parse_policy
from streamd.shared._breaker import Breaker


class TestPolicy:
    def test_off_unless_written(self) -> None:
        assert parse_policy("[streamd]\nrules = ['exact']\n", source="d").breaker is None

    def test_stop_at_and_budget(self) -> None:
        policy = parse_policy("[streamd.breaker]\nstop_at = 10\nbudget = 40\n", source="d")
        assert policy.breaker == Breaker(stop_at=10, budget=40)

    @pytest.mark.parametrize(
        ("table", "message"),
        [
            ("stop_at = 0", "stop_at must be an integer of 1 or more, not 0"),
            ("stop_at = '10'", "stop_at must be an integer of 1 or more, not '10'"),
            ("budget = true", "budget must be an integer of 1 or more, not True"),
            ("stop = 3", "unknown key 'stop'"),
            ("", "needs stop_at or budget"),
        ],
    )
    def test_a_malformed_table_names_the_file_and_key(self, table: str, message: str) -> None:
        with pytest.raises(PolicyError) as caught:
            parse_policy(f"[streamd.breaker]\n{table}\n", source="/p/dos.toml")
        assert str(caught.value).startswith("/p/dos.toml: [streamd.breaker]")
        assert message in str(caught.value)
