"""What input may be, once for every door: the pages, the API, the board, imports and the CLI.

- Text (what is what: ``tracker.rules.text``): a control character is refused with a 400 naming
  the field (``refuse_control``), at the request boundary by ``tracker.http.guard``; single-line
  fields of input models (``Line``) lose bidi overrides and zero-width characters, so that a
  title cannot display as something other than what it says.
- Dates: 1900-01-01 to 2100-12-31 (``tracker.rules.periods.DATE_MIN``/``DATE_MAX``), read by
  ``parse_date`` and the ``Day`` type; anything else is a 400 (a form shows it beside the field
  with its 422).
- Numbers: ASCII digits only, and short enough to be a 32-bit id (``to_int``, the ``Id`` type).
- Search words: at most SEARCH_MAX characters (``search_text``).
- Pydantic input models validated with Chinese messages, one per field (``validate``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError

from tracker.errors import BadInput, ValidationFailed
from tracker.rules.periods import DATE_MAX, DATE_MIN, in_range
from tracker.rules.text import control_char, one_line

M = TypeVar("M", bound=BaseModel)

# --- text ----------------------------------------------------------------------


def control_refused(label: str, field: str) -> BadInput:
    """The refusal of a control character in the field ``field`` that people call ``label``."""
    return BadInput(f"“{label}”含有不可见的控制字符", fields={field[:80]: "含有不可见的控制字符"})


def refuse_control(text: str, label: str, field: str, *, multiline: bool = False) -> None:
    """BadInput (400) naming the field when ``text`` holds a control character."""
    if control_char(text, multiline=multiline) is not None:
        raise control_refused(label, field)


def _line(value):
    return one_line(value) if isinstance(value, str) else value


# A single-line field of an input model: ``title: Line = Field(min_length=1, max_length=200)``.
Line = Annotated[str, BeforeValidator(_line)]


# --- dates ---------------------------------------------------------------------

DATE_RANGE_TEXT = f"应在{DATE_MIN.year}年至{DATE_MAX.year}年之间"


def _bounded(day: date) -> date:
    if not in_range(day):
        raise ValueError(DATE_RANGE_TEXT)
    return day


# A date field of an input model, 1900-2100.
Day = Annotated[date, AfterValidator(_bounded)]


def parse_date(
    text: str | None, *, label: str = "日期", field: str = "date", error: type[ValidationFailed] = BadInput
) -> date | None:
    """An ISO date (``2026-11-23``) from 1900 to 2100; blank is None.

    Anything else raises ``error`` naming ``label``: BadInput (400) for a query-string parameter,
    ValidationFailed (422) for a form field, whose page shows the message beside the field."""
    raw = (text or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise error(
            f"{label}不是有效日期：{raw[:40]}（应为 YYYY-MM-DD）", fields={field: f"{label}不是有效日期"}
        ) from None
    return check_date(day, label=label, field=field, error=error)


def check_date(
    day: date, *, label: str = "日期", field: str = "date", error: type[ValidationFailed] = BadInput
) -> date:
    """``day`` itself when 1900-2100; ``error`` otherwise."""
    if not in_range(day):
        raise error(f"{label}{DATE_RANGE_TEXT}：{day.isoformat()}", fields={field: f"{label}{DATE_RANGE_TEXT}"})
    return day


# --- numbers -------------------------------------------------------------------

ID_MAX = 2**31 - 1  # ids are 32-bit integer columns; a larger number cannot name a row, nor bind
# An id field of an input model.
Id = Annotated[int, Field(ge=1, le=ID_MAX)]


def to_int(value, *, max_digits: int = 9, signed: bool = False) -> int | None:
    """A whole number of ASCII digits (after a ``-`` when ``signed``), at most ``max_digits`` long,
    or None.

    ``"²".isdigit()`` is true but ``int("²")`` raises, which once turned ``?page=²`` into a 500;
    nine digits keep any number a 32-bit column can bind."""
    text = str(value or "").strip()
    digits = text[1:] if signed and text.startswith("-") else text
    if digits.isascii() and digits.isdigit() and len(digits) <= max_digits:
        return int(text)
    return None


# --- search words --------------------------------------------------------------

SEARCH_MAX = 100  # characters of a search box that are looked for; SQLite refuses a LIKE over 50 KB


def search_text(value) -> str:
    """What a search box's text is searched for: trimmed, at most SEARCH_MAX characters."""
    return str(value or "").strip()[:SEARCH_MAX]


# --- input models --------------------------------------------------------------


def validate(
    model: type[M],
    data: dict,
    labels: dict[str, str],
    *,
    missing: str = "{label}不能为空",
    none_is_missing: bool = False,
) -> M:
    """``model.model_validate(data)``, or ValidationFailed naming each bad field in Chinese.

    ``missing`` is the wording for an empty required field; ``none_is_missing``
    also reads an explicit None that way (form fields left blank arrive as None).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = {}
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "_"
            label = labels.get(name, name)
            if err["type"] in ("string_too_short", "missing") or (none_is_missing and err.get("input") is None):
                fields[name] = missing.format(label=label)
            elif err["type"] == "string_too_long":
                fields[name] = f"{label}过长"
            elif err["type"].startswith("date"):
                fields[name] = f"{label}不是有效日期"
            elif is_date_range_error(err):
                fields[name] = f"{label}{DATE_RANGE_TEXT}"
            elif err["type"] == "enum":
                fields[name] = f"{label}取值无效"
            else:
                fields[name] = f"{label}填写有误"
        first = next(iter(fields.values()), "输入有误")
        # A date outside 1900-2100 is no office date at all: 400, like an unreadable one.
        error = BadInput if any(is_date_range_error(e) for e in exc.errors()) else ValidationFailed
        raise error(f"输入有误：{first}", fields=fields) from exc


def is_date_range_error(err: dict) -> bool:
    """Whether a pydantic error is a ``Day`` outside 1900-2100."""
    return err["type"] == "value_error" and str(err.get("ctx", {}).get("error", "")) == DATE_RANGE_TEXT
