"""What the operator commands print, made safe for a terminal: tool names, session ids,
paths and results come from agents and repositories, and a control sequence among them
(OSC 52 writes the clipboard; others retitle, recolour or redraw the screen) must not
reach the terminal. One function, ``safe``, escapes them; ``main`` puts it between every
command and stdout and stderr."""

from __future__ import annotations

from typing import TextIO

# C0 controls but newline and tab, DEL and the C1 controls, and the bidirectional
# overrides that make a line read other than it is.
_UNSAFE = [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]
_UNSAFE += [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_TABLE = {code: f"\\u{code:04x}" for code in _UNSAFE}


def safe(text: str) -> str:
    """``text`` with every control character written out as ``\\uXXXX``: still valid
    inside a JSON string, and visible, not obeyed, on a terminal."""
    return text.translate(_TABLE)


class SafeWriter:
    """A text stream that passes everything through ``safe`` on its way out."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(safe(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return self._stream.encoding


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``, ``1,000 calls``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
