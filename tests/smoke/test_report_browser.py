"""End to end: open a rendered report in headless Chromium and use the trace browser.

Checks: no severe console entries, the verdict filter and the search box change the visible
traces to the expected counts, the <script> and onerror= planted in completions do not run, and
a screenshot is saved (to tmp, or to $R1REPRO_REPORT_SCREENSHOT, e.g. docs/img/report.png).
Needs the selenium package and a Chromium with its chromedriver (Debian's chromium +
chromium-driver, installed here with apt-get when running as root). Outside CI a missing piece
skips with the reason; in CI (CI=true) it fails instead, so the XSS and console checks always run.
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

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ROOT = Path(__file__).resolve().parents[2]
APT = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str):
    """Skip with the reason; in CI, fail: there the browser checks must not vanish."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run in CI, so this fails instead of skipping)")
    pytest.skip(reason)


def _found() -> tuple[str | None, str | None]:
    return next(filter(None, map(shutil.which, BROWSERS)), None), shutil.which("chromedriver")


def _ensure_chromium() -> tuple[str, str]:
    """(browser, driver) paths; installs Debian's packages with apt-get (update first) when root."""
    chromium, driver = _found()
    if chromium and driver:
        return chromium, driver
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        unavailable("chromium/chromium-driver missing and not root (or no apt-get): "
                    "apt-get install chromium chromium-driver")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd, timeout in ((["apt-get", "update"], 300), (APT, 900)):
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
        except subprocess.CalledProcessError as e:
            unavailable(f"`{' '.join(cmd)}` failed ({e.returncode}): {(e.stderr or e.stdout or '')[-1500:]}")
        except (subprocess.SubprocessError, OSError) as e:
            unavailable(f"`{' '.join(cmd)}` failed: {e}")
    chromium, driver = _found()
    if not (chromium and driver):
        unavailable(f"apt-get ran but {'chromedriver' if chromium else 'chromium'} is still missing")
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium not installed (pip install selenium, or the dev extra: pip install -e .[dev])")
    chromium, driver = _ensure_chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1360,1700", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver), options=opts)
    yield drv
    drv.quit()


def outcome(fn) -> tuple[str, str]:
    """('skip' | 'fail' | 'returned', message) of calling fn; a skip must not skip the test itself."""
    try:
        fn()
    except pytest.skip.Exception as e:
        return "skip", str(e)
    except pytest.fail.Exception as e:
        return "fail", str(e)
    return "returned", ""


def test_ci_fails_where_a_local_run_skips(monkeypatch):
    """No browser, not root: a skip with the reason outside CI, a failure in CI."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("CI", "")
    kind, msg = outcome(_ensure_chromium)
    assert kind == "skip" and "chromium/chromium-driver missing and not root" in msg
    monkeypatch.setenv("CI", "true")
    kind, msg = outcome(_ensure_chromium)
    assert kind == "fail" and "CI=true: the browser tests must run in CI" in msg, (kind, msg)


def test_ci_installs_with_apt_update_first_and_fails_loudly(monkeypatch):
    calls = []

    def apt(cmd, **kw):
        calls.append(cmd[:2])
        if cmd[1] == "install":
            raise subprocess.CalledProcessError(100, cmd, stderr="E: Unable to locate package chromium")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(subprocess, "run", apt)
    monkeypatch.setenv("CI", "true")
    kind, msg = outcome(_ensure_chromium)
    assert kind == "fail" and "Unable to locate package chromium" in msg, (kind, msg)
    assert calls == [["apt-get", "update"], ["apt-get", "install"]]


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
    import importlib.util

    spec = importlib.util.spec_from_file_location("screenshot", ROOT / "scripts" / "screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    screenshot = module.screenshot

    page = render_run(make_run(tmp_path, "shot", tasks=("gsm8k",)))["index.html"]
    out = screenshot(page, tmp_path / "img" / "eval.png", at="eval", height=900)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


OVERFLOW = """
var main = document.querySelector('main').getBoundingClientRect(), out = [];
document.querySelectorAll(arguments[0]).forEach(function (t) {
  var box = t.parentElement.getBoundingClientRect(), r = t.getBoundingClientRect();
  if (r.right > Math.min(box.right, main.right) + 1) {
    out.push(t.rows[0].innerText.slice(0, 40) + ': ' + Math.round(r.width) + ' px in ' + Math.round(box.width));
  }
});
return {tables: out, page: document.documentElement.scrollWidth - document.documentElement.clientWidth};
"""


@pytest.mark.parametrize("width, tables", [
    (1360, "#summary table, #eval table"),  # the page's full width: every table fits as it is
    (1000, ".card table"),                  # narrower: the card still wraps; wide eval tables scroll in place
])
def test_data_card_and_tables_fit_the_page(browser, tmp_path, width, tables):
    """The data card's long values (sha256s, paths, options, licenses) wrap inside the page's width,
    and no table makes the page itself scroll sideways."""
    page = render_run(make_run(tmp_path, "wide", tasks=("gsm8k", "math500")))["index.html"]
    browser.set_window_size(width, 1700)
    try:
        browser.get(page.as_uri())
        got = browser.execute_script(OVERFLOW, tables)
    finally:
        browser.set_window_size(1360, 1700)
    assert got == {"tables": [], "page": 0}
