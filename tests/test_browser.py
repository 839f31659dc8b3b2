"""The browser-test plumbing (tests/browser.py) keeps the rest of the suite free of Playwright."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Every test module is imported with Playwright made unimportable (None in sys.modules), as on a
# machine without it. Only a failure to import Playwright counts: a module that fails for another
# reason is the suite's own collection error to report.
IMPORT_ALL_WITHOUT_PLAYWRIGHT = """
import importlib, pathlib, sys
for name in ("playwright", "playwright.sync_api", "playwright.async_api"):
    sys.modules[name] = None
names = sorted(p.stem for p in pathlib.Path("tests").glob("*.py") if p.stem != "__init__")
for name in names:
    try:
        importlib.import_module("tests." + name)
    except ImportError as exc:
        if (exc.name or "").startswith("playwright"):
            print("NEEDS-PLAYWRIGHT", name)
    except Exception:
        pass
print("MODULES", len(names))
"""


def test_every_test_module_imports_without_playwright():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_WITHOUT_PLAYWRIGHT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "NEEDS-PLAYWRIGHT" not in done.stdout, done.stdout
    assert int(done.stdout.split()[-1]) > 50


def test_browser_tests_wait_on_conditions_not_on_the_clock():
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(ROOT.glob("tests/*browser*.py"))
        if path.name != Path(__file__).name
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "wait_for_timeout(" in line or "time.sleep(" in line
    ]
    assert not offenders, f"use expect(), wait_for_url() or wait_for_function() instead: {offenders}"
