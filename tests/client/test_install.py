from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streamd.client import _install
from streamd.shared import hosts
from streamd.shared.hosts import HOOK_TIMEOUT_SECONDS

OTHER: dict[str, Any] = {
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PostToolUse": [
            {"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],
    },
}


def streamd_hook(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "streamd.client",
            "hook",
            *args,
            "--socket",
            "/tmp/x/streamd.sock",
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "HOME": str(home)},
        timeout=60,
    )


class TestInstall:
    @pytest.mark.process
    def test_install_twice_then_uninstall_leaves_the_file_as_it_was(self, tmp_path: Path) -> None:
        settings = tmp_path / ".claude" / "settings.json"
        settings.parent.mkdir()
        original = json.dumps(OTHER, indent=4) + "\n"
        settings.write_text(original)
        first = streamd_hook("install", home=tmp_path, cwd=tmp_path)
        assert first.returncode == 0 and "installed" in first.stdout
        once = settings.read_text()
        second = streamd_hook("install", home=tmp_path, cwd=tmp_path)
        assert "already installed" in second.stdout and settings.read_text() == once
        data = json.loads(once)
        assert data["permissions"] == OTHER["permissions"]
        assert data["hooks"]["Stop"] == OTHER["hooks"]["Stop"]
        assert data["hooks"]["PostToolUse"][0] == OTHER["hooks"]["PostToolUse"][0]
        for event in hosts.get("claude").events:
            ours = [h for g in data["hooks"][event] for h in g["hooks"] if _install.is_ours(h)]
            assert len(ours) == 1 and "/tmp/x/streamd.sock" in ours[0]["command"]
            assert ours[0]["timeout"] == HOOK_TIMEOUT_SECONDS
        assert (settings.parent / "settings.json.streamd-backup").read_text() == original
        removed = streamd_hook("uninstall", home=tmp_path, cwd=tmp_path)
        assert removed.returncode == 0 and "removed" in removed.stdout
        assert settings.read_text() == original
        again = streamd_hook("uninstall", home=tmp_path, cwd=tmp_path)
        assert "no streamd hook" in again.stdout and settings.read_text() == original

    @pytest.mark.process
    def test_project_scope_creates_and_removes_the_file(self, tmp_path: Path) -> None:
        project = tmp_path / "repo"
        project.mkdir()
        streamd_hook("install", "--scope", "project", home=tmp_path, cwd=project)
        settings = project / ".claude" / "settings.json"
        assert set(json.loads(settings.read_text())["hooks"]) == set(hosts.get("claude").events)
        assert not (tmp_path / ".claude").exists()
        streamd_hook("uninstall", "--scope", "project", home=tmp_path, cwd=project)
        assert not settings.exists()

    def test_other_changes_survive_uninstall(self, tmp_path: Path) -> None:
        settings = tmp_path / "settings.json"
        settings.write_text(json.dumps(OTHER))
        _install.install(settings, _install.hook_command("/s.sock"))
        data = json.loads(settings.read_text())
        data["model"] = "opus"
        settings.write_text(json.dumps(data))
        _install.uninstall(settings)
        assert json.loads(settings.read_text()) == {**OTHER, "model": "opus"}

    @pytest.mark.process
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("{not json", "not valid JSON"),
            ("[]", "JSON object"),
            ('{"hooks": []}', '"hooks" must be'),
            ('{"hooks": {"PostToolUse": {}}}', "must be a list"),
        ],
    )
    def test_malformed_settings_fail_loudly_and_are_untouched(
        self, tmp_path: Path, content: str, message: str
    ) -> None:
        settings = tmp_path / ".claude" / "settings.json"
        settings.parent.mkdir()
        settings.write_text(content)
        done = streamd_hook("install", home=tmp_path, cwd=tmp_path)
        assert done.returncode == 1 and message in done.stderr and str(settings) in done.stderr
        assert settings.read_text() == content


EXISTING: dict[str, tuple[str, dict[str, Any]]] = {
    "codex": (
        ".codex/hooks.json",
        {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}},
    ),
    "gemini": (
        ".gemini/settings.json",
        {
            "theme": "GitHub",
            "hooks": {
                "BeforeTool": [
                    {
                        "matcher": "run_shell_command",
                        "hooks": [{"type": "command", "command": "./guard.sh"}],
                    }
                ],
                "AfterTool": [
                    {"hooks": [{"type": "command", "command": "./log.sh", "timeout": 5000}]}
                ],
            },
        },
    ),
    "cursor": (
        ".cursor/hooks.json",
        {
            "version": 1,
            "hooks": {
                "afterFileEdit": [{"command": "./format.sh"}],
                "postToolUse": [{"command": "./audit.sh"}],
            },
        },
    ),
    "copilot": (
        ".github/hooks/streamd.json",
        {
            "version": 1,
            "hooks": {"preToolUse": [{"type": "command", "bash": "./guard.sh", "timeoutSec": 5}]},
        },
    ),
    "qwen": (
        ".qwen/settings.json",
        {
            "model": {"name": "qwen3-coder"},
            "hooks": {
                "PostToolUse": [
                    {"matcher": "WriteFile", "hooks": [{"type": "command", "command": "./fmt"}]}
                ]
            },
        },
    ),
    "droid": (
        ".factory/settings.json",
        {
            "model": "custom",
            "hooks": {
                "PreToolUse": [
                    {"matcher": "Execute", "hooks": [{"type": "command", "command": "./guard"}]}
                ]
            },
        },
    ),
}
SCOPE = {"copilot": ("--scope", "project")}


@pytest.mark.parametrize("host", ["codex", "gemini", "cursor", "copilot", "qwen", "droid"])
class TestInstallPerHost:
    @pytest.mark.process
    def test_install_twice_then_uninstall_leaves_the_file_as_it_was(
        self, host: str, tmp_path: Path
    ) -> None:
        relative, content = EXISTING[host]
        path = tmp_path / relative
        path.parent.mkdir(parents=True)
        original = json.dumps(content, indent=2) + "\n"
        path.write_text(original)
        first = streamd_hook(
            "install", "--host", host, *SCOPE.get(host, ()), home=tmp_path, cwd=tmp_path
        )
        assert first.returncode == 0 and "installed the hook in" in first.stdout
        once = path.read_text()
        assert (
            "already installed"
            in streamd_hook(
                "install", "--host", host, *SCOPE.get(host, ()), home=tmp_path, cwd=tmp_path
            ).stdout
        )
        assert path.read_text() == once
        data = json.loads(once)
        for key, value in content.items():
            if key != "hooks":
                assert data[key] == value
        for event, entries in content["hooks"].items():
            assert data["hooks"][event][: len(entries)] == entries
        removed = streamd_hook(
            "uninstall", "--host", host, *SCOPE.get(host, ()), home=tmp_path, cwd=tmp_path
        )
        assert removed.returncode == 0 and path.read_text() == original

    @pytest.mark.process
    def test_entries_in_the_hosts_format(self, host: str, tmp_path: Path) -> None:
        done = streamd_hook(
            "install", "--host", host, "--scope", "project", home=tmp_path, cwd=tmp_path
        )
        path = tmp_path / EXISTING[host][0]
        data = json.loads(path.read_text())
        events = list(hosts.get(host).events)
        assert set(data["hooks"]) == set(events)
        if host == "cursor":
            assert data["version"] == 1
            [entry] = data["hooks"]["postToolUse"]
            assert _install.is_ours(entry) and entry["command"].endswith("--host cursor")
        elif host == "copilot":
            assert data["version"] == 1
            [entry] = data["hooks"]["postToolUseFailure"]
            assert entry["type"] == "command" and entry["timeoutSec"] == 10
            assert entry["bash"].endswith("--host copilot") and _install.is_ours(entry)
        else:
            [group] = data["hooks"][events[0]]
            [hook] = group["hooks"]
            assert hook["type"] == "command" and hook["command"].endswith(f"--host {host}")
            assert hook["timeout"] == (10_000 if host in ("gemini", "qwen") else 10)
        if host == "codex":
            [end] = data["hooks"]["SessionEnd"]
            assert end["hooks"][0]["timeout"] == 3  # Codex clamps SessionEnd hooks to 3 s
        if host == "codex":
            assert "/hooks" in done.stdout and "trust" in done.stdout
        streamd_hook("uninstall", "--host", host, "--scope", "project", home=tmp_path, cwd=tmp_path)
        assert not path.exists()

    @pytest.mark.process
    def test_hook_command_carries_the_host(self, host: str, tmp_path: Path) -> None:
        done = streamd_hook("command", "--host", host, home=tmp_path, cwd=tmp_path)
        assert done.stdout.strip().endswith(f"--socket /tmp/x/streamd.sock --host {host}")


class TestAllHostsAndStatus:
    @pytest.mark.process
    def test_install_all_takes_the_hosts_whose_folder_exists(self, tmp_path: Path) -> None:
        for folder in (".claude", ".gemini", ".factory"):
            (tmp_path / folder).mkdir()
        done = streamd_hook("install", "--host", "all", home=tmp_path, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        for line in ("Claude Code: installed", "Gemini CLI: installed", "Factory Droid: installed"):
            assert line in done.stdout
        assert "skipped (no config folder): codex, copilot, cursor, qwen" in done.stdout
        assert "hooks.json" in done.stdout  # Droid's notice
        assert not (tmp_path / ".codex").exists()

    @pytest.mark.process
    def test_install_all_with_no_agent_says_what_to_do(self, tmp_path: Path) -> None:
        done = streamd_hook("install", "--host", "all", home=tmp_path, cwd=tmp_path)
        assert done.returncode == 1 and "name a host" in done.stderr

    @pytest.mark.process
    def test_status_lists_each_host_and_a_broken_command(self, tmp_path: Path) -> None:
        streamd_hook("install", "--host", "qwen", home=tmp_path, cwd=tmp_path)
        settings = tmp_path / ".qwen" / "settings.json"
        moved = settings.read_text().replace(
            os.path.realpath(sys.executable), "/gone/venv/bin/python"
        )
        settings.write_text(moved)
        done = streamd_hook("status", home=tmp_path, cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        out = done.stdout
        for title in ("Claude Code (claude)", "Qwen Code (qwen)", "GitHub Copilot CLI (copilot)"):
            assert title in out
        qwen = out[out.index("Qwen Code (qwen)") :]
        assert "installed in" in qwen and "BROKEN: /gone/venv/bin/python" in qwen
        assert "not heard" in qwen and "no daemon answers" in out

    @pytest.mark.process
    def test_status_flags_a_command_an_earlier_streamd_wrote_and_install_replaces_it(
        self, tmp_path: Path
    ) -> None:
        streamd_hook("install", "--host", "claude", home=tmp_path, cwd=tmp_path)
        settings = tmp_path / ".claude" / "settings.json"
        current = settings.read_text()
        # 0.1.0 wrote the same launcher with the socket first and no -S: still ours.
        earlier = current.replace(" -S -I ", " -I ")
        assert earlier != current
        settings.write_text(earlier)
        status = streamd_hook("status", home=tmp_path, cwd=tmp_path).stdout
        claude = status[: status.index("Codex CLI")]
        assert "installed in" in claude and "OUTDATED" in claude
        done = streamd_hook("install", "--host", "claude", home=tmp_path, cwd=tmp_path)
        assert done.returncode == 0 and settings.read_text() == current
        status = streamd_hook("status", home=tmp_path, cwd=tmp_path).stdout
        assert "OUTDATED" not in status[: status.index("Codex CLI")]

    @pytest.mark.process
    def test_user_scope_of_a_project_only_host_says_why(self, tmp_path: Path) -> None:
        done = streamd_hook("install", "--host", "copilot", home=tmp_path, cwd=tmp_path)
        assert done.returncode == 1 and "--scope project" in done.stderr

    @pytest.mark.process
    def test_an_unknown_host_is_refused_at_install(self, tmp_path: Path) -> None:
        done = streamd_hook("install", "--host", "aider", home=tmp_path, cwd=tmp_path)
        assert done.returncode == 2 and "invalid choice: 'aider'" in done.stderr


def test_readme_host_table_is_the_registrys() -> None:

    readme = Path(__file__).resolve().parents[2] / "README.md"
    assert hosts.table() in readme.read_text()


@pytest.mark.process
class TestPlantedByARepository:
    """What a cloned repository can plant beside the files streamd writes, and what a
    user's own set-up (dotfiles, private modes) expects kept: the audit's reproductions,
    through the real command."""

    @staticmethod
    def repo(tmp_path: Path) -> tuple[Path, Path]:
        home, project = tmp_path / "home", tmp_path / "repo"
        home.mkdir()
        project.mkdir()
        return home, project

    def test_a_link_at_the_old_temp_name_is_not_written_through(self, tmp_path: Path) -> None:
        home, project = self.repo(tmp_path)
        bashrc = home / ".bashrc"
        bashrc.write_text("alias ll='ls -l'\n")
        hooks = project / ".github" / "hooks"
        hooks.mkdir(parents=True)
        (hooks / "streamd.json.streamd-tmp").symlink_to(bashrc)
        done = streamd_hook("install", "--host", "copilot", "--scope", "project",
                            home=home, cwd=project)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert bashrc.read_text() == "alias ll='ls -l'\n"
        assert json.loads((hooks / "streamd.json").read_text())["version"] == 1

    def test_a_dangling_link_at_the_backup_name_creates_nothing(self, tmp_path: Path) -> None:
        home, project = self.repo(tmp_path)
        settings = project / ".claude" / "settings.json"
        settings.parent.mkdir()
        settings.write_text('{"model": "opus"}\n')
        profile = home / ".bash_profile"
        (settings.parent / "settings.json.streamd-backup").symlink_to(profile)
        done = streamd_hook("install", "--scope", "project", home=home, cwd=project)
        assert done.returncode != 0 and "streamd-backup" in done.stderr
        assert not profile.exists()
        assert settings.read_text() == '{"model": "opus"}\n'

    def test_a_config_linked_to_the_users_own_is_refused(self, tmp_path: Path) -> None:
        home, project = self.repo(tmp_path)
        user = home / ".claude" / "settings.json"
        user.parent.mkdir()
        user.write_text('{"env": {"ANTHROPIC_API_KEY": "sk-secret"}}\n')
        (project / ".claude").mkdir()
        (project / ".claude" / "settings.json").symlink_to(user)
        done = streamd_hook("install", "--scope", "project", home=home, cwd=project)
        assert done.returncode != 0 and "symbolic link" in done.stderr
        assert (project / ".claude" / "settings.json").is_symlink()
        assert user.read_text() == '{"env": {"ANTHROPIC_API_KEY": "sk-secret"}}\n'

    def test_a_project_folder_linked_elsewhere_is_refused(self, tmp_path: Path) -> None:
        home, project = self.repo(tmp_path)
        (home / ".claude").mkdir()
        (project / ".claude").symlink_to(home / ".claude")
        done = streamd_hook("install", "--scope", "project", home=home, cwd=project)
        assert done.returncode != 0 and "symbolic link" in done.stderr
        assert list((home / ".claude").iterdir()) == []

    def test_a_files_mode_is_kept_and_a_read_only_one_is_refused(self, tmp_path: Path) -> None:
        home, _ = self.repo(tmp_path)
        settings = home / ".claude" / "settings.json"
        settings.parent.mkdir()
        settings.write_text('{"env": {"KEY": "x"}}\n')
        settings.chmod(0o640)  # the user's choice, not streamd's default (0600)
        assert streamd_hook("install", home=home, cwd=home).returncode == 0
        assert settings.stat().st_mode & 0o777 == 0o640
        backup = settings.parent / "settings.json.streamd-backup"
        assert backup.stat().st_mode & 0o777 == 0o640
        streamd_hook("uninstall", home=home, cwd=home)
        settings.chmod(0o400)
        done = streamd_hook("install", home=home, cwd=home)
        assert done.returncode != 0 and "read-only" in done.stderr
        assert settings.read_text() == '{"env": {"KEY": "x"}}\n'

    def test_a_dotfiles_link_is_written_through_and_kept(self, tmp_path: Path) -> None:
        home, _ = self.repo(tmp_path)
        real = home / "dotfiles" / "claude.json"
        real.parent.mkdir()
        original = '{\n    "hooks": {},\n    "model": "opus"\n}\n'
        real.write_text(original)
        link = home / ".claude" / "settings.json"
        link.parent.mkdir()
        link.symlink_to(real)
        assert streamd_hook("install", home=home, cwd=home).returncode == 0
        assert link.is_symlink() and "hook.py" in real.read_text()
        assert streamd_hook("uninstall", home=home, cwd=home).returncode == 0
        assert link.is_symlink() and real.read_text() == original

    def test_concurrent_installs_all_succeed(self, tmp_path: Path) -> None:
        home, _ = self.repo(tmp_path)
        argv = [sys.executable, "-m", "streamd.client", "hook", "install", "--socket", "/x.sock"]
        env = {**os.environ, "HOME": str(home)}
        procs = [
            subprocess.Popen(argv, env=env, cwd=home, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for _ in range(12)
        ]  # fmt: skip
        outcomes = [(p.wait(60), p.stderr.read() if p.stderr else "") for p in procs]
        assert all(code == 0 for code, _ in outcomes), outcomes
        data = json.loads((home / ".claude" / "settings.json").read_text())
        assert set(data["hooks"]) == set(hosts.get("claude").events)
        assert not [p for p in (home / ".claude").iterdir() if "streamd-tmp" in p.name]

    def test_install_all_goes_on_past_a_bad_config_and_says_so(self, tmp_path: Path) -> None:
        home, _ = self.repo(tmp_path)
        (home / ".claude").mkdir()
        (home / ".codex").mkdir()
        (home / ".codex" / "hooks.json").write_text("{not json")
        done = streamd_hook("install", "--host", "all", home=home, cwd=home)
        assert done.returncode == 1
        assert "Codex CLI: not installed" in done.stdout and "installed for 1 of 2" in done.stdout
        assert (home / ".claude" / "settings.json").exists()

    @pytest.mark.parametrize("kind", ["fifo", "deep", "device", "quotes"])
    def test_status_survives_a_hostile_project_config(self, kind: str, tmp_path: Path) -> None:
        home, project = self.repo(tmp_path)
        config = project / ".claude" / "settings.json"
        config.parent.mkdir()
        if kind == "fifo":
            os.mkfifo(config)
        elif kind == "deep":
            config.write_text('{"hooks": ' + "[" * 100_000 + "]" * 100_000 + "}")
        elif kind == "quotes":  # ours by its launcher, but no shell could split it
            command = "python3 /opt/streamd/client/hook.py --socket 'unterminated"
            hook = {"type": "command", "command": command}
            config.write_text(json.dumps({"hooks": {"PostToolUse": [{"hooks": [hook]}]}}))
        else:
            config.symlink_to("/dev/zero")
        done = streamd_hook("status", home=home, cwd=project)
        assert done.returncode == (1 if kind == "quotes" else 0), done.stderr
        assert "Claude Code (claude)" in done.stdout
