"""In headless Chromium: type a gene, pick it from the autocomplete, filter by cell line, see the plot
drawn and the table filled, click a point to highlight its row, download a CSV."""

import time
from pathlib import Path

import pytest

from tests.search.factories import MOAS, make_release

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason=f"needs Debian's chromium and chromedriver at {CHROMIUM} and {CHROMEDRIVER}"),
]


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    driver.downloads = downloads
    yield driver
    driver.quit()


@pytest.fixture
def live_world(transactional_db, data_dir):
    return make_release(data_dir)


def _wait(predicate, timeout=15.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_type_pick_filter_plot_highlight_and_download(live_server, live_world, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(live_server.url + "/")
    box = browser.find_element(By.ID, "gene-query")
    box.send_keys("stat")
    item = _wait(lambda: [li for li in browser.find_elements(By.CSS_SELECTOR, "#gene-suggestions li") if li.get_attribute("data-symbol") == "STAT3"], what="STAT3 in the autocomplete")[0]
    item.click()
    _wait(lambda: browser.current_url.startswith(live_server.url + "/genes/STAT3/"), what="the STAT3 page")

    Select(browser.find_element(By.ID, "cell-line-filter")).select_by_value("A549")
    browser.find_element(By.ID, "apply-filters").click()
    _wait(lambda: "cell_line=A549" in browser.current_url, what="the filtered page")

    plot = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#volcano-chemical[data-drawn='1'] .main-svg"), what="the volcano plot drawn")
    assert plot
    rows = browser.find_elements(By.CSS_SELECTOR, "#section-chemical table.results:not(.perturbagen-table) tbody tr")
    assert rows and all(r.find_elements(By.TAG_NAME, "td")[2].text == "A549" for r in rows)
    points = browser.find_elements(By.CSS_SELECTOR, "#volcano-chemical .scatterlayer .point")
    assert len(points) == len(rows)

    # A click on a point highlights its table row (through Plotly's own click event).
    sig = browser.execute_script(
        "const el = document.getElementById('volcano-chemical');"
        "const trace = el.data.findIndex(t => t.x.length > 0);"
        "el.emit('plotly_click', {points: [{customdata: el.data[trace].customdata[0]}]});"
        "return el.data[trace].customdata[0];"
    )
    highlighted = browser.find_elements(By.CSS_SELECTOR, "tr.highlight")
    assert [tr.get_attribute("data-sig") for tr in highlighted] == [sig]

    browser.find_element(By.ID, "download-csv").click()
    csv_file = _wait(lambda: [p for p in browser.downloads.glob("*.csv")], what="the CSV download")[0]
    text = csv_file.read_text()
    assert text.startswith("# l1kweb release r1;") and "cell_line=A549" in text.splitlines()[0]
    assert len(text.splitlines()) > 2

    # How far to trust the gene, and what each perturbagen is, are visible beside the hits.
    note = browser.find_element(By.ID, "gene-reliability")
    assert note.is_displayed() and note.text.startswith("STAT3 is predicted with r = 0.82 on paired L1000/RNA-seq samples (n = 40;")
    moas = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#section-chemical .moa") if e.is_displayed()]
    known = {f"{moa.replace('|', ', ')} · {targets.replace('|', ', ')}" for moa, targets in MOAS if moa}
    assert moas and set(moas) <= known, moas
    link = next(a for a in browser.find_elements(By.CSS_SELECTOR, "#section-crispr a.target-gene") if a.is_displayed())
    target = link.get_attribute("href").rstrip("/").rsplit("/", 1)[1]
    link.click()
    _wait(lambda: browser.current_url.startswith(f"{live_server.url}/genes/{target}/"), what="the knocked-out gene's page")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(target)

    # Everything above ran under the site's Content-Security-Policy: nothing was blocked.
    blocked = [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]
    assert blocked == []


def test_a_hit_opens_its_signature_page_with_its_volcano_drawn(live_server, live_world, browser):
    from selenium.webdriver.common.by import By

    browser.get(live_server.url + "/genes/STAT3/")
    link = next(a for a in browser.find_elements(By.CSS_SELECTOR, "#section-chemical a.sig-link") if a.is_displayed())
    sig_id = link.find_element(By.XPATH, "./ancestor::tr").get_attribute("data-sig")
    link.click()
    _wait(lambda: "/signatures/" in browser.current_url, what="the signature page")
    assert browser.find_element(By.CSS_SELECTOR, ".sig-id code").text == sig_id
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#volcano-signature[data-drawn='1'] .main-svg"), what="the signature's volcano drawn")
    points = browser.find_elements(By.CSS_SELECTOR, "#volcano-signature .scatterlayer .point")
    assert len(points) == len(live_world.gene_ids)  # every gene has a CD in this release
    blocked = [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]
    assert blocked == []
