"""Screenshot a rendered report with headless Chromium (for the README and pull requests).

    python scripts/screenshot.py runs/quickstart/report/index.html docs/img/report.png --readme
    python scripts/screenshot.py runs/quickstart/report/index.html eval.png --at eval

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


def readme_picture(page: str | Path, out: str | Path, *, width: int = 1360, top: int = 370, curves: int = 540) -> Path:
    """The README's picture: the report's first `top` pixels (title, Results, the held-out line) over
    the first two rows of training curves (reward, held-out accuracy, training accuracy, shows its
    work, format, length). Needs selenium (to scroll) and Pillow (matplotlib's dependency)."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        head = Image.open(screenshot(page, Path(tmp) / "top.png", width=width, height=top + 200))
        body = Image.open(screenshot(page, Path(tmp) / "curves.png", at="curves", width=width, height=curves + 200))
        picture = Image.new("RGB", (width, top + curves), "white")
        picture.paste(head.crop((0, 0, width, top)), (0, 0))
        picture.paste(body.crop((0, 0, width, curves)), (0, top))
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        picture.save(out, optimize=True)
    return Path(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("page", help="a report's index.html")
    ap.add_argument("out", help="PNG to write")
    ap.add_argument("--at", default="", help="section anchor to scroll to: summary, curves, eval, traces")
    ap.add_argument("--width", type=int, default=1360)
    ap.add_argument("--height", type=int, default=1500)
    ap.add_argument("--readme", action="store_true", help="the README's picture: results over the first curves")
    args = ap.parse_args(argv)
    if args.readme:
        print(readme_picture(args.page, args.out, width=args.width))
        return
    print(screenshot(args.page, args.out, at=args.at, width=args.width, height=args.height))


if __name__ == "__main__":
    main()
