"""Result shapes and failure fingerprints: what a result says once its noise is gone.

``normalize`` removes what varies between runs without meaning (durations, timestamps,
pids, ports, addresses, long hashes, UUIDs, temp paths, ANSI escapes, progress bars,
carriage-return redraws, trailing blanks) and keeps everything else, numbers included:
``chunk 1`` and ``chunk 2`` stay apart. ``failure_gist`` picks the lines of an error
text that say what went wrong, so the same failure from different arguments matches.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

SPAN = 32768
"""Characters normalized at each end of a longer text; its middle must match exactly."""

_UNITS = r"(?:ns|us|\u00b5s|ms|s|sec|secs|seconds?|mins?|minutes?|hrs?|hours?)\b"

# Every noise token that holds a digit, in one pass. Every pattern that reads a result
# is linear in it: a match may start only at a word's start (``(?<!\w)``), and runs are
# taken possessively (``*+``, ``++``), never given back one character at a time. A
# backtracking pattern over a result froze the daemon for minutes on a long digit run.
_DIGIT_NOISE = re.compile(
    rf"""(?<!\w)(?:
        (?P<uuid>[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}(?!\w))
      | (?P<stamp>\d{{4}}-\d\d-\d\d
          (?:[T\ ]\d\d?:\d\d(?::\d\d(?:[.,]\d++)?)?(?:Z|[+-]\d\d:?\d\d\b)?)?)
      | (?P<time>\d\d?:\d\d:\d\d(?:[.,]\d++)?\b)
      | (?P<day>\d\d?\ ++(?:\d\d?:\d\d|\d{{4}})\b)
      | (?P<addr>\dx[0-9a-fA-F]{{4,}}+(?!\w))
      | (?P<hash>[a-f]*+\d[0-9a-f]{{11,}}+(?!\w))
      | (?P<duration>\d++(?:\.\d++)?\ ?{_UNITS})
    )""",
    re.VERBOSE,
)
_REPLACEMENT = {
    "uuid": "<uuid>",
    "stamp": "<time>",
    "time": "<time>",
    "day": "<time>",
    "addr": "0x<addr>",
    "hash": "<hash>",
    "duration": "<duration>",
}
_MONTH = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +$")
_WORD = re.compile(r"\w")


def _digit_noise(text: str) -> str:
    pieces: list[str] = []
    done = 0
    for match in _DIGIT_NOISE.finditer(text):
        start, end = match.span()
        kind = match.lastgroup or "duration"
        if kind == "day":  # ``Dec  4 20:35`` as ``ls -l`` prints it
            month = _MONTH.search(text, max(done, start - 12), start)
            if month is None or (month.start() and _WORD.match(text, month.start() - 1)):
                continue
            start = month.start()
        pieces.append(text[done:start])
        pieces.append(_REPLACEMENT[kind])
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _word_start(replacement: str) -> Callable[[re.Match[str]], str]:
    """A replacement that applies only where the match begins a word."""

    def replace(match: re.Match[str]) -> str:
        start = match.start()
        if start and _WORD.match(match.string, start - 1):
            return match.group()
        return match.expand(replacement)

    return replace


def _bar(marker: str) -> Callable[[re.Match[str]], str]:
    """A bracketed run of bar glyphs is a progress bar when it holds ``marker``."""

    def replace(match: re.Match[str]) -> str:
        return "[<bar>]" if marker in match.group() else match.group()

    return replace


# Noise without a leading digit: each pattern opens with a literal (sre's fast search)
# and runs only when that literal is present.
_Replacement = str | Callable[[re.Match[str]], str]
_ANSI = re.compile(r"\x1b(?:\[[0-?]*+[ -/]*+[@-~]|\][^\x07\x1b]*+(?:\x07|\x1b\\)?|[@-Z\\-_])")
_PROGRESS = re.compile(r"\d{1,3}%\|[^|\n]*+\|[^\n]*+")
_AFTER: tuple[tuple[str, re.Pattern[str], _Replacement], ...] = (
    ("/tmp/", re.compile(r"/tmp/[^\s'\"`:,;()\[\]{}<>]*+"), "<tmp>"),
    ("/var/tmp/", re.compile(r"/var/tmp/[^\s'\"`:,;()\[\]{}<>]*+"), "<tmp>"),
    ("/var/folders/", re.compile(r"/var/folders/[^\s'\"`:,;()\[\]{}<>]*+"), "<tmp>"),
    ("tmp", re.compile(r"(?<!\w)tmp[a-z0-9_]{6,}+(?!\w)"), "<tmp>"),
    ("pid", re.compile(r"pid([ =:#]*+)\d++"), _word_start(r"pid\1<pid>")),
    ("PID", re.compile(r"PID([ =:#]*+)\d++"), _word_start(r"PID\1<pid>")),
    ("PGID", re.compile(r"PGID([ =:#]*+)\d++"), _word_start(r"PGID\1<pid>")),  # Gemini's shell
    ("port", re.compile(r"port([ =:#]*+)\d++"), _word_start(r"port\1<port>")),
    ("Port", re.compile(r"Port([ =:#]*+)\d++"), _word_start(r"Port\1<port>")),
    ("localhost:", re.compile(r"localhost:\d++"), "localhost:<port>"),
    ("127.0.0.1:", re.compile(r"127\.0\.0\.1:\d++"), "127.0.0.1:<port>"),
    ("0.0.0.0:", re.compile(r"0\.0\.0\.0:\d++"), "0.0.0.0:<port>"),
    ("[::1]:", re.compile(r"\[::1\]:\d++"), "[::1]:<port>"),
    ("===", re.compile(r"\[[=>. -]*+\]"), _bar("===")),
    ("###", re.compile(r"\[[#. -]*+\]"), _bar("###")),
)
# The glyphs progress bars and spinners are drawn with (tqdm, rich, npm, cargo).
_BAR_MARKERS = "\u2588\u2589\u258a\u258b\u258c\u258d\u258e\u258f\u2591\u2592\u2593\u2580\u2584"
_SPINNER_MARKERS = (
    "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f"
    "\u28fe\u28fd\u28fb\u28bf\u287f\u28df\u28ef\u28f7"
)
_BLOCKS = re.compile(r"[\u2580-\u259f]+")
_BRAILLE = re.compile(r"[\u2800-\u28ff]")


def _passes(text: str, passes: tuple[tuple[str, re.Pattern[str], _Replacement], ...]) -> str:
    for marker, pattern, replacement in passes:
        if marker in text:
            text = pattern.sub(replacement, text)
    return text


def _redrawn(text: str) -> str:
    """Each line as it was left on the screen: what follows its last carriage return."""
    return "\n".join(line[line.rfind("\r") + 1 :] for line in text.split("\n"))


def _normalize_span(text: str) -> str:
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        text = _redrawn(text)
    if "%|" in text:
        text = _PROGRESS.sub("<progress>", text)
    if not text.isascii():
        if any(c in text for c in _BAR_MARKERS):
            text = _BLOCKS.sub("<bar>", text)
        if any(c in text for c in _SPINNER_MARKERS):
            text = _BRAILLE.sub("", text)
    text = _passes(_digit_noise(text), _AFTER)
    if " \n" in text or "\t\n" in text:
        text = "\n".join(map(str.rstrip, text.split("\n")))
    return text


def normalize(text: str) -> str:
    """``text`` without its noise; equal for results that differ only in noise. A text
    longer than twice ``SPAN`` is normalized at both ends, its middle kept as it is."""
    if len(text) <= 2 * SPAN:
        return _normalize_span(text).rstrip()
    head, middle, tail = text[:SPAN], text[SPAN:-SPAN], text[-SPAN:]
    return (_normalize_span(head) + "\x00" + middle + "\x00" + _normalize_span(tail)).rstrip()


# A line that says what failed opens like one of these...
_GIST = re.compile(
    r"""^[ \t>*|-]*+(
        (?:[A-Za-z_][\w.]*)?(?:Error|Exception|Exit|Interrupt|Failure)\b(?![\w(]).*
      | [EFWC]\d{3,4}\b.*
      | (?:FAILED|ERROR|FAIL)\b.*
      | (?:error|fatal)(?:\[\w+\])?:.*
      | [^\s:]++:\d++(?::\d++)?:\ .*
    )$""",
    re.MULTILINE | re.VERBOSE,
)
# ... or says one of these anywhere (found with str.find: an sre alternation of
# literals tries every position). A leading letter is left off to match either case.
_GIST_WORDS = (
    "command not found",
    "o such file or directory",
    "ermission denied",
    "not found",
    "did not appear",
    "did not match",
    "does not exist",
    "already exists",
    "annot ",
    "an't ",
    "nable to ",
    "nvalid ",
    "o module named",
)
# An echoed input (an edit's old text, a long command) is not the failure's gist.
_LONG_QUOTE = re.compile(r"`[^`\n]*+\n[^`]*+`|`[^`\n]{40,}+`|'[^'\n]{40,}+'|\"[^\"\n]{40,}+\"")
GIST_LINES = 4
GIST_WIDTH = 200
_GIST_SCAN = 8192
"""Characters of an error text read at each end: errors open (compilers) or close
(tracebacks, test summaries) what a tool printed."""


# An exit status alone, or a warning printed before every error, is not what failed.
_NOT_THE_ERROR = re.compile(
    r"""[ \t>*|-]*+(?:
        (?:Exit|exit)\ (?:[Cc]ode|status):?\ *-?\d++\s*$
      | Process\ exited\ with\ (?:exit\ )?code\ -?\d++
      | Command\ (?:failed|exited)\ with\ exit\ code\ -?\d++\s*$
      | npm\ (?:warn|WARN)\b | (?:[Ww]arning|WARNING|WARN)\b:? | [\w.]*Warning:
    )""",
    re.VERBOSE,
)
# A test runner's summary counts (pytest, unittest, cargo, go, jest, vitest, mocha,
# rspec): kept in the gist, so a shrinking failure count is a new gist.
_SUMMARY = re.compile(
    r"^[^\n]*?(?:\b\d++\ (?:failed|failing|failures?|errors?)\b|\((?:failures|errors)=\d++)"
    r"[^\n]*+$",
    re.MULTILINE,
)


# Where a failure sits moves with every edit; what it is does not.
_POSITION = re.compile(r"\b([Ll]ine|[Cc]ol(?:umn)?) \d++|(\.\w++|\w\b):\d++(?::\d++)?\b")
_TAG = re.compile(r"<[^<>\n]*+>")
_LETTER = re.compile(r"[^\W\d_]")


def _no_position(match: re.Match[str]) -> str:
    return f"{match.group(1)} N" if match.group(1) else f"{match.group(2)}:N"


def failure_gist(text: str) -> str:
    """The lines of an error text that say what failed, normalized; the text's first
    lines where none does; empty for a failure that says nothing (an exit status, tags).
    Long quoted spans (an echoed input) are elided."""
    if len(text) > 2 * _GIST_SCAN:
        text = text[:_GIST_SCAN] + "\n" + text[-_GIST_SCAN:]
    normalized = normalize(text)
    head = _LONG_QUOTE.sub("<quoted>", normalized)
    found: dict[int, str] = {}
    for match in _GIST.finditer(head):
        found[match.start()] = match.group(1)
        if len(found) >= GIST_LINES:
            break
    for word in _GIST_WORDS:
        at = head.find(word)
        while at >= 0 and len(found) < 2 * GIST_LINES:
            start = head.rfind("\n", 0, at) + 1
            end = head.find("\n", at)
            end = end if end >= 0 else len(head)
            found.setdefault(start, head[start:end].strip(" \t>*|-"))
            at = head.find(word, end)
    lines: list[str] = []
    for _, line in sorted(found.items()):
        if _NOT_THE_ERROR.match(line):
            continue
        line = _POSITION.sub(_no_position, line.strip())[:GIST_WIDTH]
        if line not in lines:
            lines.append(line)
            if len(lines) == GIST_LINES:
                break
    if not lines:
        said = (ln for ln in head.splitlines() if ln.strip() and not _NOT_THE_ERROR.match(ln))
        firsts = list(itertools.islice(said, GIST_LINES))
        if not any(_LETTER.search(_TAG.sub("", ln)) for ln in firsts):
            return ""
        lines = [_POSITION.sub(_no_position, ln.strip())[:GIST_WIDTH] for ln in firsts]
    # A test runner's counts go last, whatever else was kept: 2 failed, then 1, is progress.
    counts = [m.group(0).strip()[:GIST_WIDTH] for m in _SUMMARY.finditer(normalized)][-2:]
    lines += [c for c in counts if c not in lines]
    return "\n".join(lines)
