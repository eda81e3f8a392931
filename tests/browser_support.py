"""Headless Chromium for end-to-end page tests (Debian `chromium` + `chromium-driver` driven by Selenium).

When the browser or its driver is missing and we run as root with apt-get (CI's fresh Debian machine),
they are installed; otherwise the test is skipped with a printed reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Without the networking flags Chromium keeps trying to reach update/sync servers and hangs on a closed network.
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1100")


def _find() -> tuple[str | None, str | None]:
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    return browser, shutil.which("chromedriver")


def _apt_install() -> str:
    """Try `apt-get install chromium chromium-driver`; '' on success, else why not."""
    if os.environ.get("GANDISTILL_NO_APT"):
        return "GANDISTILL_NO_APT is set"
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root on a machine with apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "chromium-driver"]
    for cmd in (install, ["apt-get", "update", "-q"], install):  # a fresh machine needs the package lists first
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(cmd)}` timed out"
        if done.returncode == 0 and cmd is install and all(_find()):
            return ""
    return f"`{' '.join(install)}` failed: {done.stderr.strip()[-300:]}"


def chrome_paths() -> tuple[str, str]:
    """(chromium, chromedriver), installing them if possible; pytest.skip with the reason otherwise."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -c constraints.txt -r "
                        "requirements.txt)")
    browser, driver = _find()
    if not (browser and driver):
        why = _apt_install()
        browser, driver = _find()
        if not (browser and driver):
            reason = f"headless Chromium + chromedriver unavailable ({why or 'not found after install'})"
            print(f"SKIP: {reason}")
            pytest.skip(reason)
    return browser, driver  # type: ignore[return-value]


def start_chrome(profile: Path):
    """A headless Chrome WebDriver with a fresh profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chrome_paths()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=opts)
