"""The `browser` marker: without chromium each such test is skipped, by name, in the summary."""

from __future__ import annotations

import pytest

from tests.reports.browser import CHROMIUM, MISSING


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: renders a report in Debian's chromium (make test installs it)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM is not None:
        return
    for item in items:
        if item.get_closest_marker("browser"):
            # The test's name in the reason, so the skip summary says which checks did not run.
            item.add_marker(pytest.mark.skip(reason=f"{MISSING}: {item.name} not run"))
