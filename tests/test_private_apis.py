"""Every private API of another library that the console leans on is listed, and still where it was."""

import importlib
import inspect
from importlib.metadata import version
from pathlib import Path

import pytest

from opsconsole.private_apis import PRIVATE_APIS, PrivateApi

DOC = Path(__file__).resolve().parent.parent / "docs" / "internals.md"


def outdated(entries: tuple[PrivateApi, ...], installed=version) -> list[str]:
    """One line per entry whose library is no longer the version it was checked against."""
    return [
        f"{entry.id}: {entry.distribution} {installed(entry.distribution)} is installed, the entry was checked "
        f"against {entry.checked}; re-check docs/internals.md#{entry.id}"
        for entry in entries
        if installed(entry.distribution) != entry.checked
    ]


def source_of(entry: PrivateApi) -> str:
    module, _, qualified = entry.source.partition(":")
    found = importlib.import_module(module)
    for name in qualified.split("."):
        found = getattr(found, name)
    return inspect.getsource(found)


def test_every_library_is_the_version_its_entries_were_checked_against():
    assert outdated(PRIVATE_APIS) == []


def test_an_upgraded_library_names_the_entries_to_re_check():
    entry = PRIVATE_APIS[0]
    lines = outdated((entry,), installed=lambda distribution: "999.0")
    assert lines == [
        f"{entry.id}: {entry.distribution} 999.0 is installed, the entry was checked against {entry.checked}; "
        f"re-check docs/internals.md#{entry.id}"
    ]


@pytest.mark.parametrize("entry", PRIVATE_APIS, ids=[entry.id for entry in PRIVATE_APIS])
def test_what_each_entry_relies_on_is_still_in_the_library(entry):
    source = source_of(entry)
    assert [name for name in entry.relies_on if name not in source] == []


def test_every_entry_has_its_section_in_the_doc_and_every_section_an_entry():
    headings = {line.removeprefix("### ").strip() for line in DOC.read_text().splitlines() if line.startswith("### ")}
    assert headings == {entry.id for entry in PRIVATE_APIS}


def test_the_entries_name_the_versions_pinned_in_requirements():
    pins = {}
    for line in (DOC.parent.parent / "requirements.txt").read_text().splitlines():
        name, sep, pinned = line.partition("==")
        if sep:
            pins[name.strip().lower().replace("_", "-")] = pinned.split()[0].strip()
    for entry in PRIVATE_APIS:
        assert pins[entry.distribution.lower().replace("_", "-")] == entry.checked, entry.id
