"""report.html as a reader sees it: rendered by headless Chromium (Debian's `chromium`) from the shipped sample
results, with no engine. A layout regression (a table or figure wider than the page, a broken image, an empty
page) fails here, and the screenshots are kept for a human to look at (LAB_SCREENSHOT_DIR)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib import image

from lab import shipped
from lab.results.html import write_html_report

CHROMIUM = next(filter(None, (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))),
                None)
WIDTHS = (1280, 900)   # a laptop window and a narrow one

# Measures the page the way a reader meets it, and writes the figures into the DOM for --dump-dom to print.
PROBE = """<script>
window.addEventListener('load', () => {
  const page = document.documentElement, width = page.clientWidth;
  const outside = el => el.getBoundingClientRect().right > width + 1;
  const boxed = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX === 'auto' || getComputedStyle(p).overflowX === 'scroll')
        return !outside(p); } return false; };
  const facts = {
    width: width, page_overflow: page.scrollWidth - width, height: page.scrollHeight,
    tables: document.querySelectorAll('table').length,
    tables_outside: [...document.querySelectorAll('table')].filter(t => outside(t) && !boxed(t)).length,
    images: document.images.length,
    images_broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length,
    images_outside: [...document.images].filter(outside).length,
  };
  const out = document.createElement('pre'); out.id = 'layout-probe'; out.textContent = JSON.stringify(facts);
  document.body.appendChild(out);
});
</script>"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=5000", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        if os.environ.get("LAB_CI"):
            pytest.fail("CI needs headless Chromium for the report layout check; scripts/setup.sh installs it")
        pytest.skip("needs headless Chromium (Debian: apt-get install chromium; scripts/setup.sh installs it)")
    runs = sorted(p.parent for p in shipped.sample_results().glob("wix-incident-*/run.json"))
    assert runs, "the shipped sample holds an incident run"
    copy = tmp_path_factory.mktemp("report") / runs[-1].name
    shutil.copytree(runs[-1], copy)
    return write_html_report(copy)


@pytest.mark.parametrize("width", WIDTHS)
def test_report_fits_the_page_and_every_figure_loads(report: Path, width: int) -> None:
    probed = report.with_name(f"probed-{width}.html")
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    dom = chromium(f"--window-size={width},1000", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom.stdout)
    assert found, f"the page did not load in Chromium: {dom.stderr[-500:]}"
    facts = json.loads(found.group(1).replace("&quot;", '"'))
    assert facts["width"] <= width and facts["tables"] >= 2 and facts["images"] >= 3, facts
    assert facts["page_overflow"] <= 0, f"the page scrolls sideways at {width}px: {facts}"
    assert facts["tables_outside"] == 0 and facts["images_outside"] == 0, facts
    assert facts["images_broken"] == 0, facts


def test_screenshot_shows_a_drawn_page(report: Path) -> None:
    shot = report.with_name("report-1280.png")
    done = chromium("--window-size=1280,2400", f"--screenshot={shot}", report.as_uri())
    assert shot.exists(), done.stderr[-500:]
    pixels = image.imread(shot)
    assert pixels.shape[1] == 1280 and pixels.shape[0] == 2400
    assert pixels[..., :3].std() > 0.05, "the screenshot is (nearly) one colour: nothing was drawn"
    keep = os.environ.get("LAB_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
