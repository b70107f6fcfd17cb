"""In headless Chromium: paste an up set and a down set into /sets/, submit, land on the saved result's page
and see the planted signatures first in the mimic and reverse tables."""

import re
from pathlib import Path

import pytest

from tests.search.test_browser_search import CHROMEDRIVER, CHROMIUM, _wait, browser  # noqa: F401 (browser: a fixture)
from tests.search.test_set_search import make_planted_release

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason=f"needs Debian's chromium and chromedriver at {CHROMIUM} and {CHROMEDRIVER}"),
]


@pytest.fixture
def planted(transactional_db, data_dir):
    return make_planted_release(data_dir)  # signatures 3, 7, 11 mimic PL0..PL5 up / PL6..PL11 down; 20, 25 reverse it


def test_paste_two_sets_submit_and_see_the_planted_signatures_first(live_server, planted, browser):
    from selenium.webdriver.common.by import By

    browser.get(live_server.url + "/sets/")
    browser.find_element(By.ID, "set-up").send_keys("\n".join(f"PL{i}" for i in range(6)))
    browser.find_element(By.ID, "set-down").send_keys("PL6, PL7, PL8\nPL9 PL10 PL11")
    browser.find_element(By.CSS_SELECTOR, "#set-form button[type=submit]").click()
    _wait(lambda: re.fullmatch(re.escape(live_server.url) + r"/sets/[a-z2-7]{16}/", browser.current_url), what="the saved result's page")

    def first(name, n):
        rows = browser.find_elements(By.CSS_SELECTOR, f"#set-{name} table.results:not(.perturbagen-table) tbody tr")
        return [r.get_attribute("data-sig") for r in rows[:n]], len(rows)

    mimic, n_rows = first("mimic", 3)
    assert set(mimic) == {planted[j].sig_id for j in (3, 7, 11)} and n_rows == 30
    reverse, _ = first("reverse", 2)
    assert set(reverse) == {planted[j].sig_id for j in (20, 25)}
    assert browser.find_element(By.ID, "set-summary").text.startswith("30 signatures searched with 6 up and 6 down genes.")
    # The share link is this page's own address; the boxes hold the sets again.
    assert browser.find_element(By.ID, "set-share").get_attribute("href") == browser.current_url
    assert browser.find_element(By.ID, "set-down").get_property("value").split("\n") == [f"PL{i}" for i in range(6, 12)]
    blocked = [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]
    assert blocked == []
