"""The operator console (/console/) in real headless chromium against a live server: journal search and a
signed conversation, the outbox, subscriptions and routes, reports; hostile values stay text; forms need
their CSRF token; other machines need the console token.

SOAPBUS_CONSOLE_SCREENSHOTS=docs/console makes the test save the screenshots docs/console.md shows.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
import requests

from soapbus import message as m
from soapbus.message import soap
from soapbus.profiles.examples import payload_document
from soapbus.security import SigningKey, sign_envelope

from .browser import headless_chromium
from .conftest import ROOT, skip_or_fail
from .helpers import header, meter_readings, start_server, typed_envelope

CERTS = ROOT / "certs"
TOKEN = "console-test-token-" + uuid.uuid4().hex
HOSTILE = "<script>document.title='pwned'</script>"
JUNIT = ('<testsuites><testsuite name="envelope" tests="12" failures="2" errors="0" skipped="1">'
         '</testsuite></testsuites>')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _own_address() -> str | None:
    """This machine's address on a non-loopback interface (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))
            address = sock.getsockname()[0]
    except OSError:
        return None
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("console")
    report = folder / "reports" / "vendor-a"
    report.mkdir(parents=True)
    (report / "junit.xml").write_text(JUNIT)
    (report / "report.html").write_text("<!doctype html><title>vendor-a conformance</title><h1>vendor-a</h1>")
    proc = start_server(folder, extra_args=["--host", "0.0.0.0", "--certs", str(CERTS), "--console-token", TOKEN,
                                            "--reports", str(folder / "reports"), "--delivery-budget", "1",
                                            "--delivery-base-delay", "0.05", "--delivery-max-delay", "0.2"])
    proc.url = proc.url.replace("0.0.0.0", "127.0.0.1")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def traffic(server):
    """A signed I1 conversation, a message with hostile Header values, and a dead letter."""
    key = SigningKey.load(CERTS / "client-oms.key", CERTS / "client-oms.pem")
    signed = m.RequestMessage(header("create", "SwitchingPlans", source="OMS"), None,
                              m.Payload(documents=[payload_document("SwitchingPlans", mrid=str(uuid.uuid4()))]))
    body = soap.to_bytes(sign_envelope(m.parse_bytes(typed_envelope("CreateSwitchingPlans", "SwitchingPlans", signed)),
                                       key))
    assert b"<m:Result>OK</m:Result>" in server.post("ExecuteSwitchingPlans", body).content
    hostile = m.RequestMessage(header("get", "MeterReadings", source=HOSTILE, message_id=f"x{HOSTILE}"), m.Request())
    server.post("GetMeterReadings", typed_envelope("GetMeterReadings", "MeterReadings", hostile))
    dead_end = f"http://127.0.0.1:{_free_port()}/nobody"
    assert requests.post(f"{server.url}/admin/subscriptions", json={"endpoint": dead_end, "noun": "MeterReadings"},
                         timeout=10).status_code == 201
    readings = m.RequestMessage(header("create", "MeterReadings"), None,
                                m.Payload(documents=[meter_readings(f"MR-{uuid.uuid4()}")]))
    server.post("ExecuteMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", readings))
    deadline = time.monotonic() + 20
    while requests.get(f"{server.url}/admin/outbox", timeout=10).json()["dead"] < 1:
        assert time.monotonic() < deadline, "the event to the dead end never became a dead letter"
        time.sleep(0.2)
    return {"signed_id": signed.header.message_id, "dead_end": dead_end}


@pytest.fixture(scope="module")
def browser():
    with headless_chromium("--window-size=1400,1000") as driver:
        yield driver


def shot(browser, name: str) -> None:
    folder = os.environ.get("SOAPBUS_CONSOLE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))


def wait_for(browser, condition, seconds: float = 10):
    """Until the page the last click led to shows what `condition(browser)` looks for (a POST, its
    redirect and the next page load after the click returns)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds).until(condition)


def by_css(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def test_journal_search_and_a_signed_conversation(server, traffic, browser):
    browser.get(f"{server.url}/console/")
    assert browser.title == "soapbus console"
    shot(browser, "overview")
    browser.get(f"{server.url}/console/journal")
    by_css(browser, "input[name=message_id]")[0].send_keys(traffic["signed_id"])
    by_css(browser, "#search button")[0].click()
    wait_for(browser, lambda b: "message_id=" in b.current_url)
    rows = by_css(browser, "tr.entry")
    assert [r.find_element("css selector", "td.mono").text for r in rows] == [traffic["signed_id"]]
    shot(browser, "journal")
    rows[0].find_element("css selector", "td.id a").click()
    wait_for(browser, lambda b: by_css(b, "section.message"))
    sections = by_css(browser, "section.message")
    assert [s.get_attribute("data-direction") for s in sections] == ["in", "out"]
    request_state = sections[0].find_element("css selector", ".signature").text
    answer_state = sections[1].find_element("css selector", ".signature").text
    assert request_state == "signed by CN=OMS,O=soapbus test PKI; verified on receipt"
    assert answer_state.startswith("signed by CN=soapbus-server") and answer_state.endswith("(this server's answer)")
    pretty = sections[0].find_element("css selector", "pre.xml").text
    assert "\n" in pretty and any(line.strip() == "<m:Verb>create</m:Verb>" for line in pretty.splitlines())
    shot(browser, "conversation")


def test_hostile_header_values_are_shown_as_text(server, traffic, browser):
    browser.get(f"{server.url}/console/journal?source={requests.utils.quote(HOSTILE)}")
    assert browser.title == "journal - soapbus console"  # the payload did not run
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    cells = [c.text for c in by_css(browser, "tr.entry td")]
    assert HOSTILE in cells and f"x{HOSTILE}" in cells


def test_outbox_dead_letter_replayed_then_purged(server, traffic, browser):
    browser.get(f"{server.url}/console/outbox?status=dead")
    items = by_css(browser, "tr.item")
    assert items and traffic["dead_end"] in items[0].text
    shot(browser, "outbox")
    item_id = items[0].get_attribute("data-id")
    items[0].find_element("css selector", "button.replay").click()
    wait_for(browser, lambda b: by_css(b, "#done"))
    assert by_css(browser, "#done")[0].text == f"dead letter {item_id} queued again"
    deadline = time.monotonic() + 20  # it fails again and, its 1 s budget spent, is dead again
    while requests.get(f"{server.url}/admin/outbox", timeout=10).json()["dead"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    browser.get(f"{server.url}/console/outbox?status=dead")
    by_css(browser, "#purge-all")[0].click()
    wait_for(browser, lambda b: by_css(b, "#done"))
    assert by_css(browser, "#done")[0].text.endswith("dead letter(s) deleted")
    assert requests.get(f"{server.url}/admin/outbox", timeout=10).json()["dead"] == 0


@pytest.mark.parametrize("page, values", [
    ("subscriptions", {"endpoint": "http://127.0.0.1:9/console-test", "noun": "MeterReadings", "verb": "created"}),
    ("routes", {"noun": "WorkRequests", "endpoint": "http://127.0.0.1:9/backend", "verb": "create"}),
])
def test_subscriptions_and_routes_are_added_and_removed(server, browser, page, values):
    browser.get(f"{server.url}/console/{page}")
    form = by_css(browser, f"#add-{page[:-1]}")[0]
    for name, value in values.items():
        form.find_element("css selector", f"input[name={name}]").send_keys(value)
    form.find_element("css selector", "button").click()
    wait_for(browser, lambda b: by_css(b, "#done"))
    assert by_css(browser, "#done")[0].text.startswith(f"{page[:-1]} ")
    rows = [r for r in by_css(browser, f"tr.{page[:-1]}") if values["endpoint"] in r.text]
    assert len(rows) == 1
    shot(browser, page)
    rows[0].find_element("css selector", "button.remove").click()
    wait_for(browser, lambda b: by_css(b, "#done") and by_css(b, "#done")[0].text.endswith("removed"))
    assert by_css(browser, "#done")[0].text.endswith("removed")
    assert not [r for r in by_css(browser, f"tr.{page[:-1]}") if values["endpoint"] in r.text]


def test_reports_are_listed_and_opened(server, browser):
    browser.get(f"{server.url}/console/reports")
    [row] = by_css(browser, "tr.report")
    assert row.get_attribute("data-name") == "vendor-a" and "failed" in row.text and "12" in row.text
    shot(browser, "reports")
    row.find_element("css selector", "a").click()
    wait_for(browser, lambda b: b.title != "conformance reports - soapbus console")
    assert browser.title == "vendor-a conformance"


def test_a_form_without_its_csrf_token_changes_nothing(server):
    before = requests.get(f"{server.url}/admin/subscriptions", timeout=10).json()
    forged = requests.post(f"{server.url}/console/subscriptions/add", timeout=10,
                           data={"endpoint": "http://attacker.example/x", "style": "generic"})
    assert forged.status_code == 403 and "CSRF token" in forged.text
    stale = requests.post(f"{server.url}/console/subscriptions/add", timeout=10, cookies={"soapbus_csrf": "abc"},
                          data={"endpoint": "http://attacker.example/x", "csrf": "0" * 64})
    assert stale.status_code == 403
    assert requests.get(f"{server.url}/admin/subscriptions", timeout=10).json() == before


def test_pages_forbid_scripts_and_framing(server):
    page = requests.get(f"{server.url}/console/journal", timeout=10)
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"] and "script-src" not in \
        page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"


def test_other_machines_need_the_console_token(server, browser):
    address = _own_address()
    if address is None:
        skip_or_fail("no non-loopback IPv4 address on this machine to call the console from")
    url = server.url.replace("127.0.0.1", address)
    denied = requests.get(f"{url}/console/", timeout=10)
    assert denied.status_code == 403 and "log in with the console token" in denied.text
    assert requests.get(f"{url}/console/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 200
    assert requests.get(f"{url}/console/", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 403
    browser.get(f"{url}/console/login")
    by_css(browser, "input[name=token]")[0].send_keys("not the token")
    by_css(browser, "form button")[0].click()
    wait_for(browser, lambda b: by_css(b, "#error"))
    assert by_css(browser, "#error")[0].text == "That is not the console token."
    by_css(browser, "input[name=token]")[0].send_keys(TOKEN)
    by_css(browser, "form button")[0].click()
    wait_for(browser, lambda b: b.title == "soapbus console")
    assert by_css(browser, "#outbox-counts")
