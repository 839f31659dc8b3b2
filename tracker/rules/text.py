"""What text may contain, for every door (pages, API, board, imports, CLI): pure functions.

- Control characters (C0, C1, DEL; lone surrogates) have no place in what people type. PostgreSQL
  refuses NUL in text outright (a 500 that SQLite hid), the others hide in what is shown. Multi-line
  text keeps tab, newline and carriage return; an HTTP header keeps tab.
- Single-line text (titles, names) loses the characters that draw nothing (bidi overrides and
  isolates, zero-width spaces and joiners, BOM): ``\u202e`` makes "事项gpj.exe" display as
  "事项exe.jpg". Line breaks fold into one space.

Refusing (a 400 naming the field) is ``tracker.services.validation``'s and the request guard's
(``tracker.http.guard``); this module says only what is what.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL (Unicode category Cc), and lone surrogates (JSON can carry "\ud800";
# no database stores it). PostgreSQL refuses NUL outright; the others hide in what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Multi-line text keeps tab, newline and carriage return.
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# An HTTP header keeps tab (RFC 9110); its bytes arrive Latin-1 decoded, so 0x80-0x9F there are
# pieces of UTF-8 characters, not C1 controls.
_CONTROL_IN_HEADER = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


# Characters that draw nothing: the format characters (Unicode category Cf: bidi embeddings,
# overrides, isolates and marks, zero-width space and joiners, word joiner, BOM, soft hyphen,
# interlinear annotation, tag characters) and the Hangul fillers. A test holds this list to
# ``unicodedata``.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\u115f\u1160\u3164\uffa0]"
)
_LINE_BREAKS = re.compile(r"\s*[\t\n\r\v\f\x1c-\x1f\x85\u2028\u2029]+\s*")


def control_char(text: str, *, multiline: bool = False) -> str | None:
    """The first control character in ``text`` (tab, newline and CR allowed when ``multiline``), or None."""
    m = (_CONTROL_IN_TEXT if multiline else _CONTROL).search(text)
    return m.group() if m else None


def header_control_char(value: str) -> str | None:
    """The first control character of an HTTP header's value, or None."""
    m = _CONTROL_IN_HEADER.search(value)
    return m.group() if m else None


def strip_invisible(text: str) -> str:
    """``text`` without the characters that draw nothing."""
    return _INVISIBLE.sub("", text)


def one_line(text: str) -> str:
    """A title or a name as it will be shown: bidi controls and zero-width characters removed,
    line breaks and tabs folded into one space, trimmed."""
    return _LINE_BREAKS.sub(" ", _INVISIBLE.sub("", text)).strip()
