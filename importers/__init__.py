"""Reading and writing workbooks (台账): files in, neutral grids and tables out.

Nothing here knows about departments, leaders or deadlines: resolution rules
live in ``tracker.services``. Everything here treats a file as hostile: size,
row and zip limits are checked before anything is parsed, XML goes through
defusedxml, formulas are never evaluated and never written from user text.
"""

from __future__ import annotations

import openpyxl.xml

# openpyxl parses XML with defusedxml only when it is installed (PITFALLS, openpyxl):
# refuse to run without it rather than parse untrusted workbooks unprotected.
try:
    import defusedxml  # noqa: F401
except ImportError as exc:  # pragma: no cover - a broken install
    raise ImportError("defusedxml must be installed: workbooks are untrusted input") from exc
if not openpyxl.xml.DEFUSEDXML:  # an explicit check, not an assert: it must survive python -O
    raise ImportError("openpyxl must use defusedxml (is OPENPYXL_DEFUSEDXML=False set?)")

from importers.safety import Limits, WorkbookError  # noqa: E402
from importers.workbook import RawSheet, Workbook, read_workbook  # noqa: E402

__all__ = ["Limits", "RawSheet", "Workbook", "WorkbookError", "read_workbook"]
