"""A session's workspace: the project root of wherever the agent runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamd.shared._decide import HookRequest, resolve
from streamd.shared._workspace import project_root

from ..harness import read_event


class TestProjectRoot:
    @pytest.mark.parametrize("marker", [".git", ".dos", "dos.toml"])
    def test_the_nearest_marked_ancestor(self, tmp_path: Path, marker: str) -> None:
        deep = tmp_path / "proj" / "src" / "pkg"
        deep.mkdir(parents=True)
        (tmp_path / "proj" / marker).mkdir()
        assert project_root(str(deep)) == str(tmp_path / "proj")

    def test_the_nearest_of_two_wins(self, tmp_path: Path) -> None:
        inner = tmp_path / "outer" / "inner"
        (inner / "sub").mkdir(parents=True)
        (tmp_path / "outer" / ".git").mkdir()
        (inner / ".git").write_text("gitdir: ../.git/modules/inner\n")  # a submodule
        assert project_root(str(inner / "sub")) == str(inner)

    def test_no_marker_keeps_the_cwd(self, tmp_path: Path) -> None:
        deep = tmp_path / "a" / "b"
        deep.mkdir(parents=True)
        assert project_root(str(deep)) == str(deep)

    def test_a_link_named_like_a_marker_counts_without_being_followed(self, tmp_path: Path) -> None:
        (tmp_path / "proj" / "src").mkdir(parents=True)
        os.symlink("/nonexistent", tmp_path / "proj" / ".git")
        assert project_root(str(tmp_path / "proj" / "src")) == str(tmp_path / "proj")


class TestResolve:
    def _workspace(self, event: dict[str, object], **request: str) -> str:
        import json

        target = resolve(HookRequest(json.dumps(event).encode(), cwd="/", **request))
        assert target is not None
        return target.workspace

    def test_the_events_cwd_is_taken_up_to_its_project(self, tmp_path: Path) -> None:
        (tmp_path / ".git").mkdir()
        (tmp_path / "src").mkdir()
        event = read_event(tmp_path / "src")
        assert self._workspace(event) == str(tmp_path)

    def test_a_given_workspace_wins(self, tmp_path: Path) -> None:
        (tmp_path / ".git").mkdir()
        event = read_event(tmp_path)
        assert self._workspace(event, workspace=str(tmp_path / "w")) == str(tmp_path / "w")
