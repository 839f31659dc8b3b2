"""Cell values: cleaning what comes in, neutralising what goes out."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

# Characters XML 1.0 (and so Excel) cannot hold; openpyxl raises on them.
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Spaces people paste from Word and web pages; zero-width ones vanish.
_SPACES = str.maketrans(
    {
        "\u3000": " ",
        "\xa0": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\u2009": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
        "\t": " ",
    }
)
# Full-width digits and Latin letters become ASCII; Chinese punctuation stays as written.
_FULLWIDTH_ALNUM = {
    cp: cp - 0xFEE0 for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)) for cp in range(r[0], r[1] + 1)
}
_RUNS = re.compile(r"[ ]{2,}")
_AROUND_NEWLINE = re.compile(r" *\n *")
_MANY_NEWLINES = re.compile(r"\n{3,}")

# A date written in text: 2026年11月5日, 2026-11-05, 2026.11.5, 2026/11/5.
DATE_IN_TEXT = re.compile(r"(?P<y>(?:19|20)\d{2})\s*[年.\-/]\s*(?P<m>\d{1,2})\s*[月.\-/]\s*(?P<d>\d{1,2})\s*日?")
# Serials read as dates: 1970-01-01 .. 2099-12-31 in the 1900 system. Smaller numbers in a
# date column are item numbers or day counts, not dates.
EXCEL_SERIAL_RANGE = (25569, 73051)

# What makes a spreadsheet treat text as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# Anything clean_text would change; most cells have none of it and are returned as they are.
_DIRTY = re.compile(
    r"[\x00-\x1f\x7f\ufffe\uffff\u3000\xa0\u2002\u2003\u2009\u200b-\u200d\ufeff\uff10-\uff19"
    r"\uff21-\uff3a\uff41-\uff5a]| [ \n]|^\s|\s$"
)


def clean_text(value: str) -> str:
    """Text as people meant it: no control characters, full-width digits and letters
    as ASCII, one space where several were, no spaces at either end of a line."""
    if not _DIRTY.search(value):
        return value
    s = ILLEGAL_CHARACTERS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    s = s.translate(_SPACES).translate(_FULLWIDTH_ALNUM)
    s = _AROUND_NEWLINE.sub("\n", _RUNS.sub(" ", s))
    return _MANY_NEWLINES.sub("\n\n", s).strip()


def header_key(value: Any) -> str:
    """How header cells are compared: NFKC, no spaces or decoration (*, ※, colons)."""
    if value is None:
        return ""
    s = unicodedata.normalize("NFKC", str(value))
    s = "".join(s.split())
    return s.strip("*※★:：.、").replace("*", "")


def clean_value(value: Any) -> Any:
    """One cell from any reader: None for blank, str cleaned, integral floats as int."""
    if value is None:
        return None
    if type(value) is str:
        s = clean_text(value)
        return s or None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, (int, date, datetime)):
        return value
    if isinstance(value, (time, timedelta)):
        return str(value)
    return clean_text(str(value)) or None


def find_date(text: str) -> date | None:
    """The first real date written in the text (NFKC first: full-width digits count)."""
    for m in DATE_IN_TEXT.finditer(unicodedata.normalize("NFKC", text or "")):
        try:
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            continue
    return None


def excel_serial(value: float, *, date1904: bool = False) -> date | None:
    """An Excel date serial (a number in a General cell, e.g. 46173) as a date.

    ``date1904``: the workbook counts from 1904-01-01 (Excel for Mac's old default),
    so the same number is four years and a day later (PITFALLS, openpyxl dates).
    """
    if isinstance(value, bool) or not EXCEL_SERIAL_RANGE[0] <= value <= EXCEL_SERIAL_RANGE[1]:
        return None
    result = from_excel(value, epoch=CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900)
    return result.date() if isinstance(result, datetime) else result


def cell_date(value: Any, *, date1904: bool = False) -> date | None:
    """A date from a date cell, an Excel serial, or text such as 2026年11月5日 / 2026-11-05;
    None when the cell holds no date. Every import reads date cells through this."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)):
        return excel_serial(value, date1904=date1904)
    if isinstance(value, str):
        return find_date(value)
    return None


def as_text(value: Any) -> str:
    """A cell as text for fields that are text (序号 1 → "1", a date → 2026-12-20)."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time.min else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def safe_text(value: Any) -> str:
    """User text for a cell: illegal characters stripped (they corrupt the file)."""
    return ILLEGAL_CHARACTERS.sub("", "" if value is None else str(value))


def needs_quote_prefix(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)
