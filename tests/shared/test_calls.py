"""What a call does, read from its tool and input: families, canonical form, writes."""

from __future__ import annotations

import pytest

from streamd.shared._calls import canonical_command, canonical_input, family, writes


class TestFamilies:
    @pytest.mark.parametrize("tool", ["edit", "multiedit", "write", "apply_patch", "replace"])
    def test_file_edits_are_one_family(self, tool: str) -> None:
        assert family(tool) == "edit"

    def test_an_unknown_tool_is_a_family_of_its_own(self) -> None:
        assert family("webfetch") == "webfetch"


class TestCanonicalCommand:
    @pytest.mark.parametrize(
        ("spelled", "canonical"),
        [
            ("cd /w/p && python3 reproduce.py", "python3 reproduce.py"),
            ("python /w/p/reproduce.py", "python reproduce.py"),
            ("./run.sh  --fast", "run.sh --fast"),
            ("grep -n 'key' src/x.py", "grep -n key src/x.py"),
        ],
    )
    def test_spelling_that_changes_nothing_goes(self, spelled: str, canonical: str) -> None:
        assert canonical_command(spelled, "/w/p") == canonical

    @pytest.mark.parametrize(
        "kept",
        [
            "cd /elsewhere && make",  # another folder: another command
            "grep 'two words' x",  # a quoted phrase is one argument
            "python /w/project/x.py",  # a sibling folder sharing the prefix
        ],
    )
    def test_when_unsure_the_spelling_stays(self, kept: str) -> None:
        assert canonical_command(kept, "/w/p") == kept

    def test_a_path_under_the_cwd_is_relative(self) -> None:
        read = canonical_input("read", {"file_path": "/w/p/src/a.py"}, "/w/p")
        assert read == {"file_path": "src/a.py"}
        assert canonical_input("read", {"file_path": "/x/a.py"}, "/w/p") == {"file_path": "/x/a.py"}


class TestWrites:
    @pytest.mark.parametrize(
        "command",
        ["cat > f.py <<EOF", "sed -i s/a/b/ f", "echo x >> log", "git commit -m m", "rm -rf b",
         "pip install -e .", "mv a b"],
    )  # fmt: skip
    def test_commands_that_write(self, command: str) -> None:
        assert writes("bash", {"command": command})

    @pytest.mark.parametrize(
        "command",
        ["git status", "pytest -x 2>&1", "python x.py > /dev/null", "grep -r key .", "ls -la"],
    )
    def test_commands_that_only_read(self, command: str) -> None:
        assert not writes("bash", {"command": command})

    def test_an_edit_writes_and_a_view_does_not(self) -> None:
        assert writes("edit", {"file_path": "a"})
        assert not writes("str_replace_editor", {"command": "view", "path": "a"})
        assert not writes("grep", {"pattern": "x > y"})
