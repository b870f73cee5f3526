"""End-to-end: the explorer's network control in headless Chromium (fixtures and helpers of
test_dashboard_e2e): switching network changes the URL, the layer table and the chart; a
DAG network's table (adds, concats, long branch names) is readable at 1440 px."""

from __future__ import annotations

from typing import Any

import pytest
from test_dashboard_e2e import (  # noqa: F401 - fixtures
    _sized,
    browser,
    cell,
    downloads,
    restore_size,
    server,
    severe_logs,
    text,
    wait_for,
)

from costmodel.core.engine import layer_table

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning")]


def _legend(driver: Any) -> str:
    return text(driver, "#pareto-chart .legend")


def test_switching_network_changes_url_table_and_chart(browser: Any, server: str  # noqa: F811
                                                       ) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "?alpha=1&resolution=224")
    wait_for(browser, lambda d: cell(d, "conv_dw_1", "name") == "conv_dw_1", "the V1 table")
    wait_for(browser, lambda d: "Estimated top-1" in _legend(d), "the V1 chart")
    browser.find_element(By.CSS_SELECTOR, "#model").click()
    # Dash 4's dropdown lists its options in a portal: one <label role=option> per value
    option = wait_for(browser, lambda d: d.find_elements(
        By.XPATH, "//*[@role='option'][.//input[@value='resnet18']]"), "the resnet18 option")[0]
    option.click()
    wait_for(browser, lambda d: "model=resnet18" in d.current_url, "the URL")
    wait_for(browser, lambda d: "resnet18" in text(d, "#config-title"), "the title")
    # the residual add of the first basic block: 56x56x64 in and out (He et al. Table 1, conv2_x)
    wait_for(browser, lambda d: cell(d, "basic1.add", "type") == "Add", "the DAG rows")
    assert cell(browser, "basic1.add", "out_shape") == "56x56x64"
    assert cell(browser, "conv_dw_1", "name") == ""  # no MobileNet-V1 row is left
    expected = f"{layer_table(1.0, 224, spec='resnet18').totals['mult_adds'] / 1e6:,.1f} M"
    wait_for(browser, lambda d: text(d, "#total-mult-adds .total-value") == expected, "totals")
    # the chart: resnet18's one published point, no MobileNet-V1 estimate
    wait_for(browser, lambda d: "Estimated top-1" not in _legend(d)
             and "Published top-1" in _legend(d), "the resnet18 chart")
    assert "resnet18" in text(browser, "#pareto-chart .gtitle")
    assert "published for 1 resnet18 config" in text(browser, "#chart-notes")
    assert severe_logs(browser) == []


def test_dag_table_is_readable_at_1440(browser: Any, server: str,  # noqa: F811
                                       restore_size: None) -> None:  # noqa: F811
    _sized(browser, 1440)
    browser.get(server + "?model=inception_v3")
    wait_for(browser, lambda d: "inception_v3" in text(d, "#config-title"), "the title")
    # Inception V3's base resolution is 299 (Szegedy et al. Table 1): the URL's default
    wait_for(browser, lambda d: cell(d, "Conv2d_1a_3x3", "in_shape") == "299x299x3", "the table")
    name = "Mixed_7c.concat1.b2.concat1.b1.conv1"  # the longest layer name
    wait_for(browser, lambda d: cell(d, name, "name") == name or
             cell(d, name, "name").replace("\n", "") == name, "the long name")
    clipped = browser.execute_script("""
        return [...document.querySelectorAll('#layer-table td')]
            .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent);""")
    assert clipped == []
    assert browser.execute_script("const s = document.querySelector('#layer-table'); "
                                  "return s.scrollWidth <= s.clientWidth;")
    assert severe_logs(browser) == []


def test_sliders_and_breakdown_follow_the_network(browser: Any, server: str  # noqa: F811
                                                  ) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(server + "?model=inception_v3")
    wait_for(browser, lambda d: "inception_v3" in text(d, "#config-title"), "the title")
    # Inception V3 (base 299): V1's 96..320 scaled by 299/224 -> 128..427, 299 a mark
    wait_for(browser, lambda d: text(d, "#resolution-range") == "128 to 427", "its range")
    marks = browser.find_element(By.ID, "resolution").text.split()
    assert marks == ["128", "171", "214", "256", "299", "342", "384", "427"]
    assert text(browser, "#breakdown-head") == "Share per layer type of inception_v3"
    wait_for(browser, lambda d: "Conv 3x3" in text(d, "#breakdown"), "its breakdown")
    assert "Table 2" not in text(browser, "#breakdown") + text(browser, "#breakdown-hint")
    box = browser.find_element(By.ID, "resolution-box")  # 400 px: outside V1's 96..320
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("400", Keys.ENTER)
    wait_for(browser, lambda d: "resolution=400" in d.current_url, "the URL")
    wait_for(browser, lambda d: cell(d, "Conv2d_1a_3x3", "in_shape") == "400x400x3", "the table")
    # back to MobileNet-V1: its own range and the paper's Table 2
    browser.get(server + "?alpha=1&resolution=224")
    wait_for(browser, lambda d: text(d, "#resolution-range") == "96 to 320", "V1's range")
    wait_for(browser, lambda d: "Table 2" in text(d, "#breakdown"), "V1's Table 2 columns")
    assert severe_logs(browser) == []
