"""A headless Chromium for the page tests, one per test module (starting one takes ~1 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.browser import Browser, available


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A fresh headless Chromium; fails (never skips) when the Debian packages are missing."""
    assert available(), "install chromium and chromium-driver (apt-get), as .ci/run does"
    instance = Browser()
    yield instance
    instance.close()
