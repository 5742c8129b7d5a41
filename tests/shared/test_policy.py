from __future__ import annotations

from pathlib import Path

import pytest

from streamd.shared import (
    DEFAULT_POLICY,
    Counts,
    FailureSettings,
    Policy,
    PolicyError,
    load_policy,
    parse_policy,
)


class TestPolicy:
    def test_defaults(self) -> None:
        assert (DEFAULT_POLICY.repeat_n, DEFAULT_POLICY.stall_n) == (3, 5)
        assert DEFAULT_POLICY.ignore_tools == frozenset()

    @pytest.mark.parametrize(
        ("repeat_n", "stall_n", "message"),
        [(0, 5, "repeat_n must be >= 1"), (4, 3, "stall_n (3) must be >= repeat_n (4)")],
    )
    def test_inconsistent_thresholds_are_rejected(
        self, repeat_n: int, stall_n: int, message: str
    ) -> None:
        with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
            Policy(repeat_n=repeat_n, stall_n=stall_n)

    def test_ignored_tools_are_casefolded(self) -> None:
        assert Policy(ignore_tools=frozenset({"WebFetch"})).ignored == {"webfetch"}


class TestLoadPolicy:
    def test_missing_file_means_defaults(self, tmp_path: Path) -> None:
        assert load_policy(str(tmp_path / "dos.toml")) == DEFAULT_POLICY

    def test_file_without_table_means_defaults(self, tmp_path: Path) -> None:
        path = tmp_path / "dos.toml"
        path.write_text("[other]\nx = 1\n")
        assert load_policy(str(path)) == DEFAULT_POLICY

    def test_reads_the_tool_stream_table(self, tmp_path: Path) -> None:
        path = tmp_path / "dos.toml"
        path.write_text('[tool_stream]\nrepeat_n = 2\nstall_n = 4\nignore_tools = ["Poll"]\n')
        assert load_policy(str(path)) == Policy(2, 4, frozenset({"Poll"}))

    def test_single_string_ignore_tools(self) -> None:
        policy = parse_policy('[tool_stream]\nignore_tools = "Poll"\n', source="x")
        assert policy.ignore_tools == {"Poll"}

    def test_byte_order_mark_is_stripped(self, tmp_path: Path) -> None:
        path = tmp_path / "dos.toml"
        path.write_bytes("\ufeff[tool_stream]\nrepeat_n = 4\n".encode())
        assert load_policy(str(path)).repeat_n == 4

    @pytest.mark.parametrize(
        ("body", "key"),
        [
            ('repeat_n = "3"', "repeat_n"),
            ("stall_n = 2.5", "stall_n"),
            ("repeat_n = true", "repeat_n"),
            ("ignore_tools = [1]", "ignore_tools"),
            ("ignore_tools = 3", "ignore_tools"),
            ("repeatn = 3", "repeatn"),
            ("repeat_n = 6", "stall_n"),
            ("repeat_n = 0", "repeat_n"),
        ],
    )
    def test_malformed_table_names_file_and_key(self, tmp_path: Path, body: str, key: str) -> None:
        path = tmp_path / "dos.toml"
        path.write_text(f"[tool_stream]\n{body}\n")
        with pytest.raises(PolicyError) as info:
            load_policy(str(path))
        assert str(path) in str(info.value) and key in str(info.value)

    def test_invalid_toml_names_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "dos.toml"
        path.write_text("[tool_stream\n")
        with pytest.raises(PolicyError, match="not valid TOML"):
            load_policy(str(path))

    def test_table_of_wrong_type(self, tmp_path: Path) -> None:
        path = tmp_path / "dos.toml"
        path.write_text("tool_stream = 3\n")
        with pytest.raises(PolicyError, match="must be a table"):
            load_policy(str(path))


class TestStreamdTable:
    def test_defaults_run_every_rule(self) -> None:
        assert DEFAULT_POLICY.rules == ("exact", "noisy", "failure", "cycle", "recurrence")
        assert DEFAULT_POLICY.model == "advice"
        assert not DEFAULT_POLICY.exact_only

    def test_model_hears_advice_or_all(self) -> None:
        assert parse_policy('[streamd]\nmodel = "all"\n', source="d").notes_to_model
        with pytest.raises(PolicyError, match=r"\[streamd\] model must be one of"):
            parse_policy('[streamd]\nmodel = "everything"\n', source="d")

    def test_reads_rules_and_thresholds(self) -> None:
        policy = parse_policy(
            '[streamd]\nrules = ["cycle", "exact"]\n'
            "[streamd.failure]\nrepeat_n = 2\nstall_n = 3\ngap = 1\n"
            "[streamd.cycle]\nrepeat_n = 8\nstall_n = 12\n"
            "[streamd.noisy]\nrepeat_n = 4\nstall_n = 6\n",
            source="x",
        )
        assert policy.rules == ("exact", "cycle")
        assert policy.settings["failure"] == FailureSettings(2, 3, 1)
        assert policy.settings["cycle"] == Counts(8, 12)
        assert policy.settings["noisy"] == Counts(4, 6)

    def test_exact_alone_is_dos_kernels_policy(self) -> None:
        policy = parse_policy(
            '[tool_stream]\nrepeat_n = 2\n[streamd]\nrules = ["exact"]\n', source="x"
        )
        assert policy.exact_only and policy.repeat_n == 2

    def test_tool_stream_and_streamd_tables_combine(self) -> None:
        policy = parse_policy('[tool_stream]\nignore_tools = "Poll"\n[streamd]\n', source="x")
        assert policy.ignore_tools == {"Poll"} and policy.rules == DEFAULT_POLICY.rules

    @pytest.mark.parametrize(
        ("body", "key"),
        [
            ('[streamd]\nrules = ["exact", "loops"]', "loops"),
            ("[streamd]\nrules = 3", "rules"),
            ("[streamd]\nrepeat_n = 3", "repeat_n"),
            ('[streamd.failure]\nrepeat_n = "3"', "[streamd.failure] repeat_n"),
            ("[streamd.failure]\ngap = -1", "[streamd.failure] gap"),
            ("[streamd.cycle]\nrepeat_n = 4\nstall_n = 3", "[streamd.cycle] stall_n"),
            ("[streamd.noisy]\nperiod = 3", "period"),
            ("[streamd]\nnoisy = 3", "streamd.noisy"),
            ("streamd = 1", "streamd"),
        ],
    )
    def test_malformed_table_names_file_and_key(self, tmp_path: Path, body: str, key: str) -> None:
        path = tmp_path / "dos.toml"
        path.write_text(body + "\n")
        with pytest.raises(PolicyError) as info:
            load_policy(str(path))
        assert str(path) in str(info.value) and key in str(info.value)
