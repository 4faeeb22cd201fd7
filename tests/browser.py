"""Debian's chromium, headless, driven by selenium: the one way the page tests open a real browser."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Iterator

from .conftest import skip_or_fail

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Without the background-networking flags chromium keeps trying hosts this machine cannot reach.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")


@contextlib.contextmanager
def headless_chromium(*extra_flags: str) -> Iterator:
    """A selenium WebDriver on a fresh profile; skips (fails under CI) where chromium is missing."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        skip_or_fail(f"real-browser page tests need {CHROMIUM} and {CHROMEDRIVER} "
                     "(Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="soapbus-chromium-") as profile:
        for arg in (*FLAGS, *extra_flags, f"--user-data-dir={profile}"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()
