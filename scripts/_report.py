"""Printing a harness's figures: one JSON object, or one aligned line per figure."""

from __future__ import annotations

import json


def print_report(report: dict[str, object], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    problems = report.get("problems")
    for key, value in report.items():
        if key != "problems":
            print(f"{key:>20}: {value}")
    for line in problems if isinstance(problems, list) else []:
        print(f"PROBLEM {line}")
