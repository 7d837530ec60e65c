"""Text from outside (a receiver's error body, a client's header) made safe for one log line.

A log line is a record only while it is one line: a field holding a newline or a
terminal escape can forge the next record or rewrite the operator's screen. Control
characters (C0, DEL, C1) and the Unicode line and paragraph separators are written as
``\\xNN``/``\\uNNNN``; backslashes are doubled so an escape cannot be faked either.
"""

from __future__ import annotations

import re
from typing import Final

# Enough to recognise an error; a whole body in the log is a memory and privacy hazard.
MAX_FIELD_CHARS: Final = 300

_UNSAFE: Final = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` cut to ``limit`` characters and escaped to one printable line."""
    cut = text[:limit]
    escaped = _UNSAFE.sub(_escape_char, cut)
    return escaped + "…" if len(text) > limit else escaped
