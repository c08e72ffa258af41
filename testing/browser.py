"""Headless Chromium from Debian's packages, driven by Selenium, for the page and card tests.

No browser is downloaded at run time: `.ci/run` installs `chromium` and `chromium-driver` with
apt-get, and :class:`Browser` starts `/usr/bin/chromium` through `/usr/bin/chromedriver`.
Screenshots go under `.artifacts/` (ignored by git) for a person to look at after the run.

WebDriver calls block; the app under test runs on the test's event loop, so every call that
waits on the page goes through a worker thread (`await browser.run(...)`), or the page would
wait forever for a server that cannot answer.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from testing.env import ROOT

T = TypeVar("T")

ARTIFACTS = ROOT / ".artifacts"
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

# Without the background-networking switches Chromium keeps calling Google's hosts, which this
# machine's closed network refuses; a fresh profile per browser keeps runs independent.
_SWITCHES = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


def available() -> bool:
    """Whether the Debian Chromium and its driver are installed."""
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


class Browser:
    """One headless Chromium with its own profile; `driver` is the Selenium WebDriver."""

    def __init__(self, *, width: int = 1280, height: int = 900, language: str = "en") -> None:
        self._profile = tempfile.mkdtemp(prefix="chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for switch in _SWITCHES:
            options.add_argument(switch)
        options.add_argument(f"--window-size={width},{height}")
        options.add_argument(f"--user-data-dir={self._profile}")
        options.add_argument(f"--lang={language}")
        # Console errors are part of what a test may assert (a page that throws is broken).
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver: WebDriver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """Run a blocking WebDriver call in a worker thread, so the app keeps answering."""
        return await asyncio.to_thread(call, *args)

    async def open(self, url: str) -> None:
        """Load a page and wait until its document is complete."""
        await self.run(self.driver.get, url)
        await self.wait(lambda d: d.execute_script("return document.readyState") == "complete")

    async def wait(self, condition: Callable[[WebDriver], T], seconds: float = 10.0) -> T:
        """Wait for `condition(driver)` to be truthy and return its value."""
        waiter = WebDriverWait(self.driver, seconds, poll_frequency=0.05)
        return await self.run(waiter.until, condition)

    async def script(self, source: str, *args: Any) -> Any:
        """Run JavaScript in the page and return its value."""
        return await self.run(self.driver.execute_script, source, *args)

    def console_errors(self) -> list[str]:
        """The page's console messages at level SEVERE since the last call."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    async def screenshot(self, name: str) -> Path:
        """Save the viewport as `.artifacts/screenshots/<name>.png` and return its path."""
        folder = ARTIFACTS / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        await self.run(self.driver.save_screenshot, str(path))
        return path

    def close(self) -> None:
        """Quit Chromium and remove its profile."""
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)
