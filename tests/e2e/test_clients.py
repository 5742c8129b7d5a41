"""The real agents, driven by a scripted model on 127.0.0.1, with streamd's hook
installed exactly as a user would install it: every tool call is recorded once, the
warnings come at the expected calls, and each reaches the model in its next request.

The clients come from npm into a cache (``$STREAMD_E2E_CACHE``, default
``~/.cache/streamd-e2e``); nothing leaves loopback (telemetry and updates off)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamd.client._report import analyze
from streamd.shared import Policy, read_records, read_transcript

from ..harness import DaemonProcess
from .models import (
    Batch,
    Call,
    ModelServer,
    Script,
    anthropic_reply,
    gemini_reply,
    responses_reply,
)

pytestmark = [pytest.mark.e2e, pytest.mark.process]

PACKAGES = {
    "claude": ("@anthropic-ai/claude-code@2.1.332", ".bin/claude"),
    "codex": ("@openai/codex@0.169.0", "@openai/codex/bin/codex.js"),
    "gemini": ("@google/gemini-cli@0.61.0", ".bin/gemini"),
    # Codex of August 2025, before hooks, whose rollouts hold their items bare. Both
    # Codex packages name their command ``codex``: each is run by its own path.
    "codex-2025": ("codex-2025@npm:@openai/codex@0.20.0", "codex-2025/bin/codex.js"),
}
WARNING = "streamd: no new information."


@pytest.fixture(scope="session")
def clients() -> Path:
    """The npm bin folder holding the three clients, installed once into the cache."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("no npm on this machine: the end-to-end clients cannot be installed")
    cache = Path(os.environ.get("STREAMD_E2E_CACHE", Path.home() / ".cache" / "streamd-e2e"))
    bin_dir = cache / "node_modules" / ".bin"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # runs side by side share the cache
        if not all((bin_dir.parent / path).exists() for _, path in PACKAGES.values()):
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache),
                 *(spec for spec, _ in PACKAGES.values())],
                capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-2000:]
    return bin_dir


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "home"
    path.mkdir()
    yield path


def install_hook(host: str, home: Path, daemon: DaemonProcess) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streamd.client", "hook", "install", "--host", host,
         "--socket", str(daemon.socket_path)],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home)},
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def warnings_after_each_call(script: Script, results_in: Any) -> dict[int, int]:
    """For each request that carries k tool results, how many streamd warnings the
    model is shown: a new one after call k means call k's warning reached it."""
    seen: dict[int, int] = {}
    for request in script.requests:
        body = request["body"]
        if not body:
            continue
        k = results_in(body)
        text = "\n".join(strings(body))
        seen[k] = max(seen.get(k, 0), text.count(WARNING))
    return seen


def check(script: Script, project: Path, results_in: Any, fired: list[int]) -> None:
    logs = list((project / ".dos" / "streams").glob("*.jsonl"))
    assert len(logs) == 1, logs
    records = read_records(str(logs[0]))
    assert len(records) == script.count  # one record per tool call
    warned = [i for i, r in enumerate(records) if r.verdict_state or r.rule]
    assert warned == fired
    seen = warnings_after_each_call(script, results_in)
    for n, index in enumerate(fired, 1):
        # After call ``index`` (0-based) the model holds index+1 results and n warnings.
        assert seen.get(index + 1, 0) >= n > seen.get(index, 0), seen


def claude_results(body: dict[str, Any]) -> int:
    return sum(
        1
        for m in body.get("messages", [])
        if isinstance(m.get("content"), list)
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_result"
    )


def codex_results(body: dict[str, Any]) -> int:
    return sum(1 for i in body.get("input", []) if i.get("type") == "function_call_output")


def gemini_results(body: dict[str, Any]) -> int:
    return sum(
        1 for c in body.get("contents", []) for p in c.get("parts", []) if "functionResponse" in p
    )


TRANSCRIPTS = {"claude": ".claude/projects", "codex": ".codex/sessions", "gemini": ".gemini/tmp"}


def capture(name: str, files: list[Path]) -> None:
    """With ``$STREAMD_E2E_CAPTURE`` set, the run's transcripts are copied there, to
    become fixtures (tests/fixtures/hosts)."""
    folder = os.environ.get("STREAMD_E2E_CAPTURE")
    if folder:
        into = Path(folder) / name
        into.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy(f, into / f.name)


def report_agrees(home: Path, host: str, project: Path) -> list[Path]:
    """The host's own transcripts of the run, read back by ``streamd report``: the same
    calls, warned at the same places as the live hook was, with the run's project and
    prompt; captured when asked (``capture``)."""
    files = sorted(
        p for p in (home / TRANSCRIPTS[host]).rglob("*")
        if p.is_file() and p.suffix in (".jsonl", ".json") and p.name != "logs.json"
    )  # fmt: skip
    capture(host, files)
    [log] = (project / ".dos" / "streams").glob("*.jsonl")
    hook = [i for i, r in enumerate(read_records(str(log))) if r.verdict_state or r.rule]
    [result] = [analyze(read_transcript(str(f)), Policy(), keep_steps=True) for f in files]
    assert [i for i, c in enumerate(result.steps) if c.state != "ADVANCING"] == hook
    assert result.prompt == "check the build"
    return files


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def claude_env(home: Path, server: ModelServer) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home),
        "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-e2e",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
    }  # fmt: skip


def run_claude(
    clients: Path, script: Script, home: Path, project: Path, allowed: list[str]
) -> subprocess.CompletedProcess[str]:
    with ModelServer(script, anthropic_reply) as server:
        return run(
            [str(clients / "claude"), "-p", "check the build", "--output-format", "stream-json",
             "--verbose", "--allowedTools", *allowed],
            project, claude_env(home, server),
        )  # fmt: skip


def run_codex(
    clients: Path,
    script: Script,
    home: Path,
    project: Path,
    *,
    package: str = "codex",
    flags: tuple[str, ...] = ("--dangerously-bypass-hook-trust",),
) -> subprocess.CompletedProcess[str]:
    """``codex exec`` of ``package`` on the scripted model (the hook, where the version
    has hooks, already installed in ``home``)."""
    with ModelServer(script, responses_reply) as server:
        (home / ".codex" / "config.toml").write_text(
            'model = "gpt-5-codex"\nmodel_provider = "e2e"\n'
            f'[model_providers.e2e]\nname = "e2e"\nbase_url = "{server.url}/v1"\n'
            'wire_api = "responses"\nenv_key = "E2E_API_KEY"\n'
        )
        env = {
            "PATH": os.environ.get("PATH", ""), "HOME": str(home), "E2E_API_KEY": "sk-e2e",
            "CODEX_HOME": str(home / ".codex"),
        }  # fmt: skip
        return run(
            [str(clients.parent / PACKAGES[package][1]), "exec", *flags,
             "--skip-git-repo-check", "--sandbox", "danger-full-access", "check the build"],
            project, env,
        )  # fmt: skip


def gemini_settings(home: Path, **more: Any) -> None:
    """Gemini CLI's settings for a loopback run: the base-URL variable alone selects a
    gateway auth the CLI then rejects; updates, usage statistics and telemetry would
    leave loopback."""
    (home / ".gemini").mkdir()
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        **more,
    }
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))


def run_gemini(
    clients: Path, script: Script, home: Path, project: Path
) -> subprocess.CompletedProcess[str]:
    with ModelServer(script, gemini_reply) as server:
        env = {
            "PATH": os.environ.get("PATH", ""), "HOME": str(home),
            "GOOGLE_GEMINI_BASE_URL": server.url, "GEMINI_API_KEY": "e2e-key",
        }  # fmt: skip
        return run(
            [str(clients / "gemini"), "-p", "check the build", "--yolo", "--skip-trust"],
            project, env,
        )  # fmt: skip


def test_claude_code(clients: Path, daemon: DaemonProcess, home: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "status.txt").write_text("build: pending\n")
    install_hook("claude", home, daemon)
    script = Script(
        [Call("Bash", {"command": "cat missing.txt", "description": "read it"})] * 3
        + [Call("Read", {"file_path": str(project / "status.txt")})] * 3
    )
    done = run_claude(clients, script, home, project, ["Bash", "Read"])
    assert done.returncode == 0, done.stderr[-2000:]
    check(script, project, claude_results, fired=[2, 5])
    report_agrees(home, "claude", project)


def test_claude_code_parallel_batch_with_a_failure(
    clients: Path, daemon: DaemonProcess, home: Path, tmp_path: Path
) -> None:
    """A batch of parallel calls in which one fails: Claude Code 2.1.332 runs the others
    to the end (no sibling is cancelled) and sends one hook event per call."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "status.txt").write_text("build: pending\n")
    install_hook("claude", home, daemon)
    batch = Batch((
        Call("Read", {"file_path": str(project)}),  # a folder: EISDIR
        Call("Bash", {"command": "sleep 2; echo b", "description": "b"}),
        Call("Read", {"file_path": str(project / "status.txt")}),
        Call("Bash", {"command": "sleep 2; echo c", "description": "c"}),
    ))  # fmt: skip
    script = Script([batch, batch, batch])
    done = run_claude(clients, script, home, project, ["Bash", "Read"])
    assert done.returncode == 0, done.stderr[-2000:]
    logs = list((project / ".dos" / "streams").glob("*.jsonl"))
    records = read_records(str(logs[0]))
    assert len(records) == 12 and not any(r.step.artifact for r in records)
    # Each call repeats once a round, four calls apart: nothing repeats in a row.
    assert [i for i, r in enumerate(records) if r.verdict_state] == []


def test_claude_code_refusals_send_no_hook_event_and_report_no_loop(
    clients: Path, daemon: DaemonProcess, home: Path, tmp_path: Path
) -> None:
    """A call the permission rules refuse, three times: no PostToolUse or
    PostToolUseFailure fires, and the report on the transcript finds no loop either."""
    project = tmp_path / "project"
    project.mkdir()
    install_hook("claude", home, daemon)
    script = Script([Call("Bash", {"command": "rm -rf build", "description": "clean"})] * 3)
    done = run_claude(clients, script, home, project, ["Read"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (project / ".dos").exists()  # no hook event, no log
    transcripts = list((home / ".claude" / "projects").rglob("*.jsonl"))
    report = subprocess.run(
        [sys.executable, "-m", "streamd.client", "report", *map(str, transcripts), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    data = json.loads(report.stdout)
    assert data["tool_calls"] == 3 and data["loops"] == 0


def test_codex(clients: Path, daemon: DaemonProcess, home: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "status.txt").write_text("build: pending\n")
    (home / ".codex").mkdir()
    install_hook("codex", home, daemon)
    script = Script(
        [Call("exec_command", {"cmd": "cat missing.txt"})] * 3
        + [Call("exec_command", {"cmd": "cat status.txt"})] * 3
    )
    done = run_codex(clients, script, home, project)
    assert done.returncode == 0, done.stderr[-2000:]
    check(script, project, codex_results, fired=[2, 5])
    report_agrees(home, "codex", project)


def test_codex_of_2025_rollout_is_read(clients: Path, home: Path, tmp_path: Path) -> None:
    """Codex 0.20.0 (no hooks yet) on the same scripted loop: the report reads its rollout
    (items at the top level, no envelope) and finds both loops where the hook would."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "status.txt").write_text("build: pending\n")
    (home / ".codex").mkdir()
    script = Script(
        [Call("shell", {"command": ["bash", "-lc", "cat missing.txt"]})] * 3
        + [Call("shell", {"command": ["bash", "-lc", "cat status.txt"]})] * 3
    )
    done = run_codex(clients, script, home, project, package="codex-2025", flags=())
    assert done.returncode == 0, done.stderr[-2000:]
    [rollout] = (home / ".codex" / "sessions").rglob("rollout-*.jsonl")
    assert rollout.read_text().startswith('{"id":')  # that era's first line, no envelope
    capture("codex-2025", [rollout])
    result = analyze(read_transcript(str(rollout)), Policy(), keep_steps=True)
    assert [i for i, c in enumerate(result.steps) if c.state != "ADVANCING"] == [2, 5]
    assert result.prompt == "check the build" and result.calls == script.count


def test_gemini_cli(clients: Path, daemon: DaemonProcess, home: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "status.txt").write_text("build: pending\n")
    gemini_settings(home)
    install_hook("gemini", home, daemon)
    script = Script(
        [Call("run_shell_command", {"command": "cat missing.txt"})] * 3
        + [Call("read_file", {"file_path": str(project / "status.txt")})] * 3
    )
    done = run_gemini(clients, script, home, project)
    assert done.returncode == 0, done.stderr[-2000:]
    check(script, project, gemini_results, fired=[2, 5])
    report_agrees(home, "gemini", project)


def test_claude_code_breaker_stops_a_failing_loop(
    clients: Path, daemon: DaemonProcess, home: Path, tmp_path: Path
) -> None:
    """With [streamd.breaker] stop_at = 4, a loop of failing calls (whose own answer
    Claude Code ignores) is stopped from the PostToolBatch after the fourth."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "dos.toml").write_text("[streamd.breaker]\nstop_at = 4\n")
    install_hook("claude", home, daemon)
    script = Script([Call("Bash", {"command": "cat missing.txt", "description": "read"})] * 8)
    done = run_claude(clients, script, home, project, ["Bash"])
    assert done.returncode == 0, done.stderr[-2000:]
    records = read_records(str(next((project / ".dos" / "streams").glob("*.jsonl"))))
    assert len(records) == 4 and records[-1].stop == ("exact", 4)
    assert max(claude_results(r["body"]) for r in script.requests if r["body"]) <= 4
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["terminal_reason"] == "hook_stopped"


def test_gemini_cli_breaker_stops_a_loop(
    clients: Path, daemon: DaemonProcess, home: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "status.txt").write_text("build: pending\n")
    (project / "dos.toml").write_text("[streamd.breaker]\nstop_at = 4\n")
    # Its own loop check would halt the session at the fifth identical call.
    gemini_settings(home, model={"disableLoopDetection": True})
    install_hook("gemini", home, daemon)
    script = Script([Call("read_file", {"file_path": str(project / "status.txt")})] * 8)
    run_gemini(clients, script, home, project)
    records = read_records(str(next((project / ".dos" / "streams").glob("*.jsonl"))))
    assert len(records) == 4 and records[-1].stop == ("exact", 4)
    assert max(gemini_results(r["body"]) for r in script.requests if r["body"]) <= 4


def test_codex_breaker_cannot_stop_it_and_keeps_advising(
    clients: Path, daemon: DaemonProcess, home: Path, tmp_path: Path
) -> None:
    """Codex 0.169.0 ignores continue: false from its hooks (the host table says so): with
    a breaker armed, all the calls run and each loop call is still advised."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "dos.toml").write_text("[streamd.breaker]\nstop_at = 4\n")
    (home / ".codex").mkdir()
    install_hook("codex", home, daemon)
    script = Script([Call("exec_command", {"cmd": "cat missing.txt"})] * 6)
    done = run_codex(clients, script, home, project)
    assert done.returncode == 0, done.stderr[-2000:]
    records = read_records(str(next((project / ".dos" / "streams").glob("*.jsonl"))))
    assert len(records) == 6 and [r.stop is not None for r in records] == [False] * 3 + [True] * 3
    last = "\n".join(strings(script.requests[-1]["body"]))
    leads = ("streamd: no new information.", "streamd: the loop looks stuck.")
    assert sum(last.count(lead) for lead in leads) == 4  # calls 3 to 6, each advised
