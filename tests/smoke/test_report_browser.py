"""End to end: open a rendered report in headless Chromium and use the trace browser.

Checks: no severe console entries, the verdict filter and the search box change the visible
traces to the expected counts, the <script> and onerror= planted in completions do not run, and
a screenshot is saved (to tmp, or to $R1REPRO_REPORT_SCREENSHOT, e.g. docs/img/report.png).
Needs Debian's chromium + chromium-driver (installed here with apt-get when running as root) and
the selenium package; skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from r1repro.report import render_run
from tests.fixtures.make_run import make_run

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install selenium)")


def _ensure_chromium() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium/chromium-driver missing and not root: apt-get install chromium chromium-driver")
    try:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                       check=True, capture_output=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"could not install chromium with apt-get: {e}")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("apt-get ran but chromium or chromedriver is still missing")
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
    chromium, driver = _ensure_chromium()
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1360,1700", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver), options=opts)
    yield drv
    drv.quit()


def _visible(drv) -> int:
    return drv.execute_script("return document.querySelectorAll('.trace:not([hidden])').length")


def test_report_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    run = make_run(tmp_path, "browser", plant_html=True)
    page = render_run(run)["index.html"]
    html = page.read_text(encoding="utf-8")
    total = len(re.findall(r'<article class="trace"', html))
    incorrect = len(re.findall(r'data-verdict="incorrect"', html))
    assert 0 < incorrect < total

    browser.get(page.as_uri())
    assert browser.find_element(By.ID, "f-count").text == f"{total} of {total} samples shown"
    assert browser.execute_script("return window.__pwned") is None
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []

    Select(browser.find_element(By.ID, "f-verdict")).select_by_value("incorrect")
    assert _visible(browser) == incorrect
    assert browser.find_element(By.ID, "f-count").text == f"{incorrect} of {total} samples shown"
    Select(browser.find_element(By.ID, "f-verdict")).select_by_value("")

    # the planted completion is text, and searching for it finds exactly the samples that carry it
    browser.find_element(By.ID, "f-text").send_keys("window.__pwned")
    assert _visible(browser) == html.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") >= 2
    assert browser.execute_script("return window.__pwned") is None
    browser.find_element(By.ID, "f-text").clear()
    browser.execute_script("document.getElementById('f-text').dispatchEvent(new Event('input'))")
    assert _visible(browser) == total

    browser.find_element(By.ID, "f-close").click()
    assert browser.execute_script("return document.querySelectorAll('details.think[open]').length") == 0
    browser.find_element(By.ID, "f-open").click()
    assert browser.execute_script("return document.querySelectorAll('details.think:not([open])').length") == 0

    shot = Path(os.environ.get("R1REPRO_REPORT_SCREENSHOT") or tmp_path / "report.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("document.getElementById('eval').scrollIntoView()")
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_screenshot_tool(browser, tmp_path):
    from r1repro.report.screenshot import screenshot

    page = render_run(make_run(tmp_path, "shot", tasks=("gsm8k",)))["index.html"]
    out = screenshot(page, tmp_path / "img" / "eval.png", at="eval", height=900)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
