"""End-to-end: the dashboard served by waitress on loopback, driven by headless Chromium.

Skipped with a reason when chromium/chromedriver or selenium are missing. Every wait is an
explicit WebDriverWait on the page state the test needs; nothing sleeps to synchronise.
The main view's screenshot goes to test-output/dashboard.png.
"""

from __future__ import annotations

import csv
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dash", reason="dash is not installed (pip install -e .[dash])")
pytest.importorskip("waitress", reason="waitress is not installed (pip install -e .[dash])")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install -e .[dev])")

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from costmodel.core.engine import layer_table  # noqa: E402
from costmodel.search.recommend import recommend  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              # selenium 4.2 calls a urllib3 API that urllib3 2.x deprecates: not ours
              pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning")]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "test-output" / "dashboard.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_S = 45  # generous: a 2-core CI machine runs other tests beside this one


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from waitress.server import create_server

    from dashboard.app import create_app

    app = create_app(warm=True)
    srv = create_server(app.server, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}/"
    srv.close()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER}); "
                    f"scripts/setup.sh installs it with apt")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1600,1250", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as exc:  # a broken browser install is an environment problem: skip
        pytest.skip(f"Chromium could not start: {str(exc).splitlines()[0]}")
    driver.execute_cdp_cmd("Page.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    yield driver
    driver.quit()


def wait_for(driver: Any, cond: Callable[[Any], Any], what: str, timeout: float = WAIT_S) -> Any:
    # Dash re-renders components on every update: an element found a moment ago may be gone.
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: cond(d), message=f"timed out waiting for {what}")


def text(driver: Any, css: str) -> str:
    for _ in range(5):  # re-find when React replaced the node between find and read
        els = driver.find_elements(By.CSS_SELECTOR, css)
        try:
            return els[0].text if els else ""
        except StaleElementReferenceException:
            continue
    return ""


def cell(driver: Any, row_id: str, col: str) -> str:
    return text(driver, f"#layer-table tr[data-row='{row_id}'] td[data-col='{col}']")


def open_view(driver: Any, url: str, expect_title: str) -> None:
    """Open a URL and wait until the chart, the layer table and the title show that view."""
    driver.get(url)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#pareto-chart .scatterlayer "
                                                                ".trace"), "the chart")
    wait_for(driver, lambda d: expect_title in text(d, "#config-title"), f"title {expect_title}")
    wait_for(driver, lambda d: cell(d, "fc", "name") == "fc", "the layer table")


def severe_logs(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_main_view_loads_without_console_errors(browser: Any, server: str) -> None:
    browser.get_log("browser")  # drop anything from before
    open_view(browser, server + "?alpha=0.75&resolution=160&max_mult_adds_m=300",
              "0.75 MobileNet-160")
    lib = recommend(max_mult_adds_m=300, grid=True)
    wait_for(browser, lambda d: text(d, "#recommended-label") == lib["best"]["label"],
             "the recommendation")
    # the totals show the engine's figures for 0.75-160: 166.4 M mult-adds
    assert text(browser, "#total-mult-adds .total-value") == \
        f"{layer_table(0.75, 160).totals['mult_adds'] / 1e6:,.1f} M"
    assert "max mult-adds" in text(browser, "#binding")
    legend = browser.find_element(By.CSS_SELECTOR, "#pareto-chart .legend").text
    for key in ("Pareto front", "Estimated top-1", "Published top-1", "Recommended", "Selected"):
        assert key in legend
    assert "log scale" in text(browser, "#pareto-chart .xtitle")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert severe_logs(browser) == []


def test_alpha_slider_changes_totals_and_table(browser: Any, server: str) -> None:
    open_view(browser, server + "?alpha=0.75&resolution=160", "0.75 MobileNet-160")
    before_total = text(browser, "#total-mult-adds .total-value")
    assert cell(browser, "conv1", "out_shape") == "80x80x24"  # int(32 * 0.75) = 24
    thumb = browser.find_element(By.CSS_SELECTOR, "#alpha [role='slider']")
    thumb.click()
    # step 0.01: 0.75 -> 0.70, one key at a time, each waited for (under load, keys sent while
    # the page redraws could land on a re-rendered slider and be lost)
    for step in ("0.74", "0.73", "0.72", "0.71", "0.7"):
        browser.find_element(By.CSS_SELECTOR, "#alpha [role='slider']").send_keys(Keys.ARROW_LEFT)
        wait_for(browser, lambda d, v=step: d.find_element(By.CSS_SELECTOR, "#alpha [role='slider']")
                 .get_attribute("aria-valuenow") == v, f"the slider at {step}")
    wait_for(browser, lambda d: "alpha=0.7&" in d.current_url, "the URL to follow the slider")
    wait_for(browser, lambda d: "0.7 MobileNet-160" in text(d, "#config-title"), "the new title")
    # int(32 * 0.7) = 22 channels out of conv1; totals are the engine's for 0.7-160
    wait_for(browser, lambda d: cell(d, "conv1", "out_shape") == "80x80x22", "the table")
    expected = f"{layer_table(0.7, 160).totals['mult_adds'] / 1e6:,.1f} M"
    wait_for(browser, lambda d: text(d, "#total-mult-adds .total-value") == expected, "totals")
    assert expected != before_total
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#alpha [role='slider']")
             .get_attribute("aria-valuenow") == "0.7", "the slider at 0.7")
    assert severe_logs(browser) == []


def test_budget_change_moves_the_recommendation(browser: Any, server: str) -> None:
    open_view(browser, server + "?alpha=1&resolution=224", "1 MobileNet-224")
    box = browser.find_element(By.ID, "max_mult_adds_m")
    labels = []
    for budget in (300, 100):
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(str(budget), Keys.ENTER)
        want = recommend(max_mult_adds_m=budget, grid=True)["best"]["label"]
        wait_for(browser, lambda d, w=want: text(d, "#recommended-label") == w,
                 f"recommendation {want} for {budget} M")
        wait_for(browser, lambda d, b=budget: f"max_mult_adds_m={b}" in d.current_url, "the URL")
        labels.append(want)
    assert labels[0] != labels[1]
    assert severe_logs(browser) == []


def test_csv_download_has_the_selected_configs_rows(browser: Any, server: str,
                                                    downloads: Path) -> None:
    open_view(browser, server + "?alpha=0.5&resolution=128&rounding=slim", "0.5 MobileNet-128")
    target = downloads / "mobilenet_v1_0.5_128_slim_paper_layers.csv"
    target.unlink(missing_ok=True)
    browser.find_element(By.ID, "download-csv").click()
    wait_for(browser, lambda d: target.exists() and target.stat().st_size > 0
             and not list(downloads.glob("*.crdownload")), "the CSV download")
    with target.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = layer_table(0.5, 128, rounding="slim").rows
    assert [r["name"] for r in rows] == [r["name"] for r in expected]
    assert [int(r["mult_adds"]) for r in rows] == [r["mult_adds"] for r in expected]
    # conv1 at 0.5-128: 3*3*3*16 weights on 64*64 outputs = 442,368 mult-adds
    assert int(rows[0]["mult_adds"]) == 3 * 3 * 3 * 16 * 64 * 64


def test_link_reopens_the_same_view(browser: Any, server: str) -> None:
    open_view(browser, server + "?alpha=0.5&resolution=192&convention=fvcore&x=params",
              "0.5 MobileNet-192")
    assert "fvcore convention" in text(browser, "#config-title")
    wait_for(browser, lambda d: "Parameters (millions)" in text(d, "#pareto-chart .xtitle"),
             "the x axis")
    wait_for(browser, lambda d: [t.get_attribute("aria-valuenow") for t in
                                 d.find_elements(By.CSS_SELECTOR, "[role='slider']")[:2]]
             == ["0.5", "192"], "the sliders at 0.5 and 192")
    assert severe_logs(browser) == []


def test_clicking_a_point_selects_it(browser: Any, server: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    open_view(browser, server + "?alpha=1&resolution=224", "1 MobileNet-224")
    # The published 0.25-128 checkpoint: the bottom-left point, far from any other.
    find_point = """
        const gd = document.querySelector('#pareto-chart .js-plotly-plot');
        const ti = gd._fullData.findIndex(t => t.name === 'Published top-1');
        const pi = gd._fullData[ti].customdata.findIndex(c => c[0] === 0.25 && c[1] === 128);
        const tr = gd.querySelectorAll('.scatterlayer .trace')[ti];
        return tr ? tr.querySelectorAll('path.point')[pi] : null;"""
    point = wait_for(browser, lambda d: d.execute_script(find_point), "the 0.25-128 point")
    ActionChains(browser).move_to_element(point).click().perform()
    wait_for(browser, lambda d: "0.25 MobileNet-128" in text(d, "#config-title"), "the selection")
    wait_for(browser, lambda d: "alpha=0.25&resolution=128" in d.current_url, "the URL")
    wait_for(browser, lambda d: cell(d, "conv1", "out_shape") == "64x64x8", "the table")  # 32/4
    assert severe_logs(browser) == []


# ------------------------------------------------------------------ issue 14: layout and input
def _sized(driver: Any, width: int, height: int = 1000) -> None:
    driver.set_window_size(width, height)
    wait_for(driver, lambda d: d.execute_script("return window.innerWidth") <= width,
             f"a {width} px window")


@pytest.fixture
def restore_size(browser: Any) -> Iterator[None]:
    yield
    browser.set_window_size(1600, 1250)


def test_layer_table_shows_index_stride_and_shapes_in_full(browser: Any, server: str,
                                                          restore_size: None) -> None:
    _sized(browser, 1440)
    open_view(browser, server + "?alpha=1&resolution=224", "1 MobileNet-224")
    cut = browser.execute_script("""
        const cols = ['index', 'stride', 'in_shape', 'out_shape', 'name', 'type'];
        const cells = [...document.querySelectorAll('#layer-table td')]
            .filter(td => cols.includes(td.dataset.col));
        const heads = [...document.querySelectorAll('#layer-table th button')];
        return [...cells, ...heads].filter(e => e.scrollWidth > e.clientWidth + 1
            || e.getClientRects().length > 1 || e.offsetHeight > 2 * parseFloat(
               getComputedStyle(e).lineHeight || '16')).map(e => e.textContent);""")
    assert cut == []
    assert cell(browser, "conv1", "in_shape") == "224x224x3"
    assert cell(browser, "conv_pw_1", "out_shape") == "112x112x64"
    assert cell(browser, "conv_dw_2", "stride") == "2"
    assert text(browser, "#layer-table th button#layer-sort-stride") == "Stride"
    # the table fits its card at 1440 px: no horizontal scrolling needed
    assert browser.execute_script("const s = document.querySelector('#layer-table'); "
                                  "return s.scrollWidth <= s.clientWidth;")


@pytest.mark.parametrize("width", [1024, 1280, 1440])
def test_chart_stays_beside_the_controls(browser: Any, server: str, restore_size: None,
                                         width: int) -> None:
    _sized(browser, width)
    open_view(browser, server + "?alpha=0.75&resolution=160", "0.75 MobileNet-160")
    side, chart = browser.execute_script(
        "return [document.querySelector('.sidebar').getBoundingClientRect().toJSON(), "
        "document.querySelector('.chart-card').getBoundingClientRect().toJSON()];")
    assert chart["left"] >= side["right"] and abs(chart["top"] - side["top"]) < 2


_OUTSIDE_JS = """
    const vw = window.innerWidth;
    const page = document.documentElement.scrollWidth;
    const svg = document.querySelector('#pareto-chart .main-svg').getBoundingClientRect();
    const box = {left: Math.max(0, svg.left), right: Math.min(vw, svg.right)};
    const texts = [...document.querySelectorAll(
        '#pareto-chart .legendtext, #pareto-chart .gtitle, #pareto-chart .annotation-text, '
        + '#pareto-chart .xtitle, #pareto-chart .ytitle, #pareto-chart .colorbar')];
    const out = texts.filter(t => { const r = t.getBoundingClientRect();
        return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1); })
        .map(t => t.textContent);
    return {vw: vw, page: page, out: out};"""


@pytest.mark.parametrize("width", [390, 1024])
def test_nothing_is_clipped_on_narrow_screens(browser: Any, server: str, restore_size: None,
                                              width: int) -> None:
    _sized(browser, width, 844)
    open_view(browser, server + "?alpha=0.75&resolution=160&max_mult_adds_m=300",
              "0.75 MobileNet-160")
    # the narrow layout is applied in the browser after the figure arrives
    wait_for(browser, lambda d: d.execute_script(
        "const g = document.querySelector('#pareto-chart .js-plotly-plot');"
        "return g && g.layout && g.layout.meta && g.layout.meta.narrow;"), "the narrow layout")
    got = browser.execute_script(_OUTSIDE_JS)
    assert got["page"] <= got["vw"], got  # no sideways scrolling of the page
    assert got["out"] == [], got  # every title, legend entry and note inside the chart


def test_svg_download_is_svg_at_once(browser: Any, server: str, downloads: Path) -> None:
    open_view(browser, server + "?alpha=1&resolution=224", "1 MobileNet-224")
    for f in downloads.glob("mobilenet_pareto.*"):
        f.unlink()
    browser.find_element(By.CSS_SELECTOR, "#image-format input[value='svg']").click()
    _camera(browser)
    wait_for(browser, lambda d: (downloads / "mobilenet_pareto.svg").exists()
             and not list(downloads.glob("*.crdownload")), "the SVG download")
    assert (downloads / "mobilenet_pareto.svg").read_text()[:200].lstrip().startswith("<svg")
    assert not (downloads / "mobilenet_pareto.png").exists()


def _camera(driver: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    chart = driver.find_element(By.CSS_SELECTOR, "#pareto-chart")
    ActionChains(driver).move_to_element(chart).perform()  # the modebar shows on hover
    button = wait_for(driver, lambda d: d.find_element(
        By.CSS_SELECTOR, "#pareto-chart .modebar-btn[data-title^='Download plot']"),
        "the camera button")
    driver.execute_script("arguments[0].click();", button)


def test_every_x_axis_draws_with_plotly_basic_and_png_downloads(browser: Any, server: str,
                                                                downloads: Path) -> None:
    """The page carries plotly.js's basic bundle (dashboard/assets), not the full one: every
    chart the explorer draws, on each x axis, draws with it, and the camera saves a PNG."""
    from dashboard import data

    browser.get_log("browser")
    for x in data.x_keys():  # the latency axes pick the default device (shown in the URL)
        open_view(browser, server + f"?alpha=0.75&resolution=160&x={x}", "0.75 MobileNet-160")
        wait_for(browser, lambda d: d.execute_script(
            "return document.querySelectorAll('#pareto-chart .scatterlayer path.point').length"
        ) > 10, f"the points on the {x} axis")
        title = data.axis_title(x, data.default_device()).split(" (")[0]
        wait_for(browser, lambda d, t=title: t in text(d, "#pareto-chart .xtitle"), title)
    loaded = browser.execute_script(
        "return [window.Plotly.version, performance.getEntriesByType('resource')"
        ".map(e => e.name).filter(n => n.includes('plotly'))];")
    assert loaded[0] == "4.1.1"
    assert all("/assets/plotly-basic-4.1.1.min.js" in n for n in loaded[1]), loaded[1]
    for f in downloads.glob("mobilenet_pareto.*"):
        f.unlink()
    _camera(browser)  # PNG: the default format
    target = downloads / "mobilenet_pareto.png"
    wait_for(browser, lambda d: target.exists() and not list(downloads.glob("*.crdownload")),
             "the PNG download")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert severe_logs(browser) == []


def test_header_click_sorts_the_layer_table(browser: Any, server: str) -> None:
    open_view(browser, server + "?alpha=1&resolution=224", "1 MobileNet-224")
    rows = layer_table(1.0, 224).rows
    order = "return [...document.querySelectorAll('#layer-table tbody tr')].map(r => r.dataset.row);"
    assert browser.execute_script(order) == [r["name"] for r in rows]
    browser.find_element(By.ID, "layer-sort-params").click()
    want = [r["name"] for r in sorted(rows, key=lambda r: r["params"])]
    wait_for(browser, lambda d: d.execute_script(order) == want, "ascending params")
    browser.find_element(By.ID, "layer-sort-params").click()  # again: descending
    # the largest first: conv_pw_13, 1024 * 1024 = 1,048,576 weights (fc: 1024 * 1000)
    wait_for(browser, lambda d: d.execute_script(order)[0] == want[-1] == "conv_pw_13",
             "descending params")


def test_typed_alpha_applies_on_enter_and_out_of_range_is_refused(browser: Any,
                                                                  server: str) -> None:
    open_view(browser, server + "?alpha=1&resolution=224", "1 MobileNet-224")
    box = browser.find_element(By.ID, "alpha-box")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("0.5", Keys.ENTER)  # no blur: Enter alone applies it
    wait_for(browser, lambda d: "alpha=0.5&" in d.current_url, "the URL at alpha 0.5")
    wait_for(browser, lambda d: "0.5 MobileNet-224" in text(d, "#config-title"), "the title")
    box = browser.find_element(By.ID, "alpha-box")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("75", Keys.ENTER)
    wait_for(browser, lambda d: "did you mean 0.75?" in text(d, "#status"), "the message")
    assert "alpha=0.5&" in browser.current_url  # refused, not clamped to 1.5
    res = browser.find_element(By.ID, "resolution-box")
    res.send_keys(Keys.CONTROL, "a")
    res.send_keys("224.5", Keys.ENTER)
    wait_for(browser, lambda d: "not an integer" in text(d, "#status"), "the message")
    assert "resolution=224" in browser.current_url and "resolution=225" not in browser.current_url
    budget = browser.find_element(By.ID, "max_mult_adds_m")
    budget.send_keys(Keys.CONTROL, "a")
    budget.send_keys("-5", Keys.ENTER)
    wait_for(browser, lambda d: "max mult-adds (M) '-5' is out of range" in text(d, "#status"),
             "the budget message")
    assert severe_logs(browser) == []


def test_dragging_onto_a_mark_gives_its_value(browser: Any, server: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    open_view(browser, server + "?alpha=1&resolution=224", "1 MobileNet-224")
    thumb = browser.find_element(By.CSS_SELECTOR, "#alpha [role='slider']")
    mark = next(m for m in browser.find_elements(By.CSS_SELECTOR, "#alpha .dash-slider-mark")
                if m.text.strip() == "0.25")
    dx = (mark.rect["x"] + mark.rect["width"] / 2) - (thumb.rect["x"] + thumb.rect["width"] / 2)
    ActionChains(browser).click_and_hold(thumb).move_by_offset(dx / 2, 0) \
        .move_by_offset(dx - dx / 2, 0).release().perform()
    wait_for(browser, lambda d: "alpha=0.25&" in d.current_url, "alpha 0.25 from the drag")


def test_variant_on_predicted_latency_says_why(browser: Any, server: str) -> None:
    from dashboard import data

    dev = next(d["id"] for d in data.devices() if not d["published"])
    browser.get_log("browser")
    open_view(browser, server + f"?variant=shallow&x=latency_pred&device={dev}",
              "MobileNet-224")
    wait_for(browser, lambda d: "cannot be placed" in text(d, "#chart-notes"), "the note")
    n_points = browser.execute_script(
        "return document.querySelectorAll('#pareto-chart .scatterlayer path.point').length")
    assert n_points > 10  # the MobileNet-V1 front is drawn
    assert severe_logs(browser) == []


def test_docs_screenshot(browser: Any, server: str, restore_size: None) -> None:
    """docs/dashboard.png for the README: the explorer at 1440 px with a budget set."""
    _sized(browser, 1440, 1250)
    open_view(browser, server + "?alpha=0.75&resolution=160&max_mult_adds_m=300",
              "0.75 MobileNet-160")
    wait_for(browser, lambda d: text(d, "#recommended-label") != "", "the recommendation")
    out = ROOT / "test-output" / "dashboard-1440.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(out))


def test_precision_control_reads_the_link_and_changes_size_and_accuracy(browser: Any,
                                                                       server: str) -> None:
    # issue 13: ?precision=int8 sets the control; the chart's note names the quantized edition
    # (tensorflow/models slim, 2018-08 quantized) and its hover the int8 model size
    open_view(browser, server + "?alpha=1&resolution=224&precision=int8&x=size_int8",
              "1 MobileNet-224")
    wait_for(browser, lambda d: "int8" in text(d, "#precision"), "the precision control at int8")
    wait_for(browser, lambda d: "2018-08 edition, quantized" in text(d, "#chart-notes"),
             "the quantized edition in the chart notes")
    wait_for(browser, lambda d: "Model size, int8" in text(d, "#pareto-chart .xtitle"), "x axis")
    assert severe_logs(browser) == []
