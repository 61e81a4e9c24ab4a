"""The translation catalogs: locale/<lang>/LC_MESSAGES/django.po, compiled to .mo with Babel.

Babel is pure Python, so `make run` and `make test` need no GNU gettext (msgfmt) on a fresh machine.
settings.py compiles stale catalogs at startup; the .mo files are build output and never committed.
Fuzzy entries are left out of the .mo, as msgfmt does. Editing strings: `make messages` (that one
needs GNU gettext's xgettext, as Django's makemessages does), translate, and the next start compiles.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def stale_catalogs(locale_dir: Path) -> list[Path]:
    """The .po files whose .mo is missing or older than they are."""
    stale = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            stale.append(po)
    return stale


def compile_catalog(po: Path) -> Path:
    """Write po's .mo next to it, atomically (several workers may start at once)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as source:
        catalog = read_po(source, abort_invalid=True)
    mo = po.with_suffix(".mo")
    partial = mo.with_name(f".{mo.name}.{os.getpid()}")
    with partial.open("wb") as target:
        write_mo(target, catalog, use_fuzzy=False)
    os.replace(partial, mo)
    return mo


def compile_catalogs(locale_dir: Path) -> list[Path]:
    """Compile every stale catalog under locale_dir; return the .mo files written."""
    return [compile_catalog(po) for po in stale_catalogs(locale_dir)]


if __name__ == "__main__":
    for written in compile_catalogs(Path(__file__).resolve().parent.parent / "locale"):
        sys.stdout.write(f"compiled {written}\n")
