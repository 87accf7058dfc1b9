"""Screenshot a rendered report with headless Chromium (for the README and pull requests).

    python scripts/screenshot.py runs/quickstart/report/index.html docs/img/report.png --at eval

Why: the README shows what a report looks like; this makes that picture from a real run in one
command. How: runs the `chromium` binary (Debian's package; also chromium-browser, google-chrome)
through selenium + chromedriver when installed (then `--at` scrolls to a section: summary,
curves, eval, traces), else with `chromium --headless --screenshot` (top of the page only).
A script, not part of the package: the library never imports selenium.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser() -> str:
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        raise RuntimeError(f"no headless browser found (tried {', '.join(BROWSERS)}); "
                           "on Debian: apt-get install chromium chromium-driver")
    return browser


def screenshot(page: str | Path, out: str | Path, *, at: str = "", width: int = 1360, height: int = 1500) -> Path:
    """Write a PNG of `page` (an index.html) at `out`, scrolled to section `at` if given.

    With selenium and chromedriver installed the page is scrolled to the section; without them,
    the chromium command line can only take the top of the page (`at` must then be empty).
    """
    out, url = Path(out).resolve(), Path(page).resolve().as_uri()
    out.parent.mkdir(parents=True, exist_ok=True)
    browser = _browser()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        if at:
            raise RuntimeError("scrolling to a section needs selenium (pip install selenium)") from None
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--user-data-dir={profile}", f"--window-size={width},{height}",
                            f"--screenshot={out}", url], check=True, capture_output=True, timeout=120)
        return out
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    driver = shutil.which("chromedriver")
    drv = webdriver.Chrome(service=Service(driver) if driver else None, options=opts)
    try:
        drv.get(url)
        if at:
            drv.execute_script("var e = document.getElementById(arguments[0]); if (e) e.scrollIntoView();", at)
        drv.save_screenshot(str(out))
    finally:
        drv.quit()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("page", help="a report's index.html")
    ap.add_argument("out", help="PNG to write")
    ap.add_argument("--at", default="", help="section anchor to scroll to: summary, curves, eval, traces")
    ap.add_argument("--width", type=int, default=1360)
    ap.add_argument("--height", type=int, default=1500)
    args = ap.parse_args(argv)
    print(screenshot(args.page, args.out, at=args.at, width=args.width, height=args.height))


if __name__ == "__main__":
    main()
