"""Score loop detectors on the real agent runs in ``../shared/corpus`` against its hand labels.

Each run's calls become the hook events a host would send (a failed call as Claude
Code's ``PostToolUseFailure``) and go through streamd's own adapter and detector, per
rule and with all rules; the peers' rules (Gemini CLI, Cline, Roo Code, OpenCode,
OpenHands, Goose) run over the same calls. A warning is a call at which a detector
fires. Figures over the labeled runs:

- recall: labeled loop episodes with a warning inside them (``start`` to ``end``);
- false/1k: warnings outside every labeled loop, per 1,000 calls;
- precision: the share of warnings that fall inside loops;
- latency: the median of (first warning inside an episode - ``detectable_from``);
- legit: warnings inside spans the labelers marked as legitimate repetition;
- rest/1k: warnings per 1,000 calls over the unlabeled runs.

streamd's findings are scored for both audiences: its advice to the model, and every
finding (its notes for people too). The figures come per split: the first 119 labeled
runs (the rules were designed on them), the second round of 63 (none was), and all.

    python scripts/eval_loops.py [--corpus ../shared/corpus] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamd.shared import RULES, Detector, Policy, Step, adapt_event

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


@dataclass(frozen=True, slots=True)
class Call:
    """One recorded call, as the corpus has it."""

    tool: str
    args: str
    obs: str | None
    error: bool


@dataclass(slots=True)
class Score:
    name: str
    caught: int = 0
    episodes: int = 0
    inside: int = 0
    outside: int = 0
    legit: int = 0
    labeled_steps: int = 0
    rest_warnings: int = 0
    rest_steps: int = 0
    latencies: list[int] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        warnings = self.inside + self.outside
        return {
            "detector": self.name,
            "recall": self.caught / self.episodes if self.episodes else 0.0,
            "caught": self.caught,
            "episodes": self.episodes,
            "false_per_1k": 1000 * self.outside / max(1, self.labeled_steps),
            "precision": self.inside / warnings if warnings else None,
            "latency_median": statistics.median(self.latencies) if self.latencies else None,
            "legit_warnings": self.legit,
            "rest_per_1k": 1000 * self.rest_warnings / max(1, self.rest_steps),
            "recall_by_kind": {k: f"{v[0]}/{v[1]}" for k, v in sorted(self.by_kind.items())},
        }


def load(corpus: Path) -> tuple[dict[int, list[Call]], dict[int, dict[str, Any]]]:
    runs: dict[int, list[Call]] = {}
    with gzip.open(corpus / "trajectories.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            run = json.loads(line)
            runs[run["id"]] = [
                Call(s["tool"], s["args"], s["obs"], bool(s["error"])) for s in run["steps"]
            ]
    labels: dict[int, dict[str, Any]] = {}
    with open(corpus / "labels.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                label = json.loads(line)
                labels[label["id"]] = label
    return runs, labels


def event_for(call: Call, *, absent_results: bool = False) -> dict[str, Any]:
    """The Claude Code hook event this call would have produced. A host always sends a
    result; where the source kept none (most of AutoCodeRover's retrieval calls) it is
    played as empty, or left out with ``absent_results``."""
    try:
        tool_input = json.loads(call.args)
    except ValueError:
        tool_input = None
    if not isinstance(tool_input, dict):
        tool_input = {"command": call.args}
    event: dict[str, Any] = {
        "session_id": "eval",
        "hook_event_name": "PostToolUseFailure" if call.error else "PostToolUse",
        "tool_name": call.tool or "unnamed",
        "tool_input": tool_input,
    }
    obs = call.obs if call.obs is not None or absent_results else ""
    if obs is not None:
        event["error" if call.error else "tool_response"] = obs
    return event


def streamd_steps(calls: list[Call], *, absent_results: bool = False) -> list[Step]:
    steps = []
    for call in calls:
        step = adapt_event(event_for(call, absent_results=absent_results)).step
        assert step is not None
        steps.append(step)
    return steps


Firing = Callable[[list[Call], list[Step]], list[bool]]
ADVICE = "streamd advice (all rules, for the model)"
NOTES = "streamd notes (all rules, for people)"
FIRST_ROUND = 119
"""Label lines of the first round, which the rules were designed on; the rest (63) came
in a second round, to check them on runs nobody designed on."""


def streamd_detector(policy: Policy, *, people: bool = False) -> Firing:
    """streamd's advice to the model; with ``people``, every finding (the notes too)."""

    def fire(calls: list[Call], steps: list[Step]) -> list[bool]:
        detector = Detector(policy)
        out = []
        for step in steps:
            verdict = detector.push(step)
            out.append(verdict.fired and (people or verdict.audience == "model"))
        return out

    return fire


def identical_calls(limit: int) -> Firing:
    """Gemini CLI (5), Cline (3), OpenCode (3): ``limit`` identical calls in a row; Roo
    Code blocks the call after ``limit`` (so it fires at 4 with its default of 3)."""

    def fire(calls: list[Call], steps: list[Step]) -> list[bool]:
        out, run = [], 0
        for i, call in enumerate(calls):
            prev = calls[i - 1] if i else None
            same = prev is not None and (prev.tool, prev.args) == (call.tool, call.args)
            run = run + 1 if same else 1
            out.append(run >= limit)
        return out

    return fire


def goose(calls: list[Call], steps: list[Step]) -> list[bool]:
    """The same tool failing with the same error (first 100 characters) 3 times in a row."""
    out, run, last = [], 0, None
    for call in calls:
        key = (call.tool, (call.obs or "")[:100]) if call.error else None
        run = run + 1 if key is not None and key == last else (1 if key else 0)
        last = key
        out.append(run >= 3)
    return out


def openhands(calls: list[Call], steps: list[Step]) -> list[bool]:
    """OpenHands' StuckDetector: 4 identical action/observation pairs; 3 identical
    actions that all errored; an A,B alternation of pairs over 6 steps. A shell
    observation is compared by its exit status only."""
    shells = {"bash", "execute_bash", "cmd_run", "run"}

    def obs_key(call: Call) -> object:
        return call.error if call.tool.lower() in shells else (call.obs, call.error)

    out = []
    for i in range(len(calls)):
        window = calls[max(0, i - 5) : i + 1]
        acts = [(c.tool, c.args) for c in window]
        pairs = [(a, obs_key(c)) for a, c in zip(acts, window, strict=True)]
        stuck = len(pairs) >= 4 and len(set(pairs[-4:])) == 1
        stuck = stuck or (
            len(acts) >= 3 and len(set(acts[-3:])) == 1 and all(c.error for c in window[-3:])
        )
        if len(pairs) == 6 and pairs[0] != pairs[1]:
            stuck = stuck or (pairs[0::2].count(pairs[0]) == 3 and pairs[1::2].count(pairs[1]) == 3)
        out.append(stuck)
    return out


def detectors() -> dict[str, Firing]:
    table: dict[str, Firing] = {
        f"streamd {rule}": streamd_detector(Policy(rules=(rule,))) for rule in RULES
    }
    table[ADVICE] = streamd_detector(Policy())
    table[NOTES] = streamd_detector(Policy(), people=True)
    table["Gemini CLI (5 identical calls)"] = identical_calls(5)
    table["Cline (3 identical calls)"] = identical_calls(3)
    table["Roo Code (4th identical call)"] = identical_calls(4)
    table["OpenCode (3 identical calls)"] = identical_calls(3)
    table["OpenHands StuckDetector"] = openhands
    table["Goose (same tool, same error x3)"] = goose
    return table


def _inside(index: int, spans: list[dict[str, Any]]) -> bool:
    return any(s["start"] <= index <= s["end"] for s in spans)


def score_run(score: Score, fired: list[bool], label: dict[str, Any] | None) -> None:
    if label is None:
        score.rest_steps += len(fired)
        score.rest_warnings += sum(fired)
        return
    episodes = label["episodes"]
    score.labeled_steps += len(fired)
    for i, warned in enumerate(fired):
        if not warned:
            continue
        if _inside(i, episodes):
            score.inside += 1
        else:
            score.outside += 1
            if _inside(i, label["legit"]):
                score.legit += 1
    for episode in episodes:
        score.episodes += 1
        kind = score.by_kind.setdefault(episode["kind"], [0, 0])
        kind[1] += 1
        hits = [i for i in range(episode["start"], episode["end"] + 1) if fired[i]]
        if hits:
            score.caught += 1
            kind[0] += 1
            score.latencies.append(hits[0] - episode["detectable_from"])


def evaluate(corpus: Path, *, absent_results: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Per split (``first`` 119 labeled runs, ``second`` 63, ``all``), a row per detector;
    ``rest_per_1k`` is over the unlabeled runs in every split."""
    runs, labels = load(corpus)
    order = label_order(corpus)
    first = set(order[:FIRST_ROUND])
    table = detectors()
    splits = {"first": set(first), "second": set(order[FIRST_ROUND:]), "all": set(order)}
    scores = {split: {name: Score(name) for name in table} for split in splits}
    for run_id, calls in runs.items():
        steps = streamd_steps(calls, absent_results=absent_results)
        for name, fire in table.items():
            fired = fire(calls, steps)
            for split, ids in splits.items():
                label = labels.get(run_id)
                if label is not None and run_id not in ids:
                    continue
                score_run(scores[split][name], fired, label)
    return {split: [s.row() for s in by_name.values()] for split, by_name in scores.items()}


def label_order(corpus: Path) -> list[int]:
    with open(corpus / "labels.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["id"] for line in f if line.strip()]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def markdown(rows: list[dict[str, Any]]) -> Iterator[str]:
    yield "| detector | recall | false/1k | precision | latency | legit | rest/1k |"
    yield "|---|---|---|---|---|---|---|"
    for r in rows:
        latency = "-" if r["latency_median"] is None else f"{r['latency_median']:+g}"
        yield (
            f"| {r['detector']} | {_pct(r['recall'])} ({r['caught']}/{r['episodes']}) | "
            f"{r['false_per_1k']:.2f} | {_pct(r['precision'])} | {latency} | "
            f"{r['legit_warnings']} | {r['rest_per_1k']:.2f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true", help="one JSON object per detector")
    parser.add_argument(
        "--absent-results",
        action="store_true",
        help="play a call whose result the source did not keep as having none (it then "
        "breaks every run) instead of an empty result",
    )
    args = parser.parse_args()
    if not (args.corpus / "trajectories.jsonl.gz").is_file():
        print(
            f"no corpus at {args.corpus}: pass --corpus DIR (the folder holding "
            "trajectories.jsonl.gz and labels.jsonl)",
            file=sys.stderr,
        )
        return 2
    by_split = evaluate(args.corpus, absent_results=args.absent_results)
    if args.json:
        for split, rows in by_split.items():
            for row in rows:
                print(json.dumps({"split": split, **row}))
        return 0
    titles = {
        "first": f"First round: the {FIRST_ROUND} labeled runs the rules were designed on",
        "second": "Second round: the 63 labeled runs no rule was designed on",
        "all": "All 182 labeled runs",
    }
    for split, rows in by_split.items():
        print(f"\n{titles[split]}\n")
        print("\n".join(markdown(rows)))
        for name in (ADVICE, NOTES):
            row = next(r for r in rows if r["detector"] == name)
            print(f"\n{name} recall by kind: {row['recall_by_kind']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
