"""The server's HTML pages against a hostile Host header: over real HTTP, then in real headless chromium.

A browser cannot set Host, so each page is fetched over a raw socket with the hostile header
and the HTML the server returned is then loaded in chromium from a file. The detector (did a
script run?) is proven on a control page built the way the discovery page was built before it
went through Jinja2: the same payloads do run there.
"""
from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from lxml import etree

from soapbus.profiles import services
from soapbus.server.discovery import authority_from_host_header, endpoint_listing, templates

from .browser import headless_chromium

from .helpers import start_server

TITLE = "soapbus endpoints"
PAYLOADS = {
    "script_tag": "\"><script>document.title='pwned'</script>",
    # breaks out of a double-quoted attribute; the browser fires the handler on load, no user needed
    "attribute_on_load": "x\" style=\"display:block;content-visibility:auto\" "
                         "oncontentvisibilityautostatechange=\"document.title='pwned'\" data-x=\"",
    "attribute_on_interaction": "x\" onfocus=\"document.title='pwned'\" onmouseover=\"document.title='pwned'\" data-x=\"",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("pages"))
    yield proc
    proc.stop()


def _address(server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def fetch_with_host(server, path: str, host_header: str) -> tuple[int, bytes]:
    """GET `path` with exactly this Host header, over a plain socket (no client library rewrites it)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n").encode("latin-1")
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# ------------------------------------------------------------------------------------ raw HTTP

@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_a_hostile_host_is_not_used_and_not_reflected(server, name):
    status, body = fetch_with_host(server, "/", PAYLOADS[name])
    page = body.decode("utf-8")
    assert status == 200
    assert "<script" not in page and "pwned" not in page and "data-x" not in page
    host, port = _address(server)
    hrefs = re.findall(r'class="url" href="([^"]*)"', page)
    assert hrefs == [f"http://{host}:{port}/soap/{s.name}" for s in services()]  # the listening address instead
    assert page.count('<tr class="endpoint"') == len(services())


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_a_hostile_host_reaches_neither_endpoints_json_nor_a_wsdl(server, name):
    host, port = _address(server)
    status, body = fetch_with_host(server, "/endpoints.json", PAYLOADS[name])
    assert status == 200
    assert {e["url"] for e in json.loads(body)} == {f"http://{host}:{port}/soap/{s.name}" for s in services()}
    status, body = fetch_with_host(server, "/wsdl/ExecuteMeterReadings.wsdl", PAYLOADS[name])
    locations = etree.fromstring(body).xpath("//*[local-name()='address']/@location")
    assert status == 200 and locations == [f"http://{host}:{port}/soap/ExecuteMeterReadings"]


def test_a_well_formed_host_is_used_for_every_url(server):
    """Positive control: behind a proxy that passes Host on, the links name what the client used."""
    status, body = fetch_with_host(server, "/", "dms.example.net:8443")
    hrefs = re.findall(r'class="url" href="([^"]*)"', body.decode())
    assert status == 200 and hrefs == [f"http://dms.example.net:8443/soap/{s.name}" for s in services()]
    status, body = fetch_with_host(server, "/endpoints.json", "[::1]:8061")
    assert {e["wsdl"] for e in json.loads(body)} == {f"http://[::1]:8061/wsdl/{s.name}.wsdl" for s in services()}


@pytest.mark.parametrize("value, expected", [
    (b"dms.example.net", "dms.example.net"), (b"dms.example.net:8443", "dms.example.net:8443"),
    (b"10.0.0.7:80", "10.0.0.7:80"), (b"[2001:db8::1]:8061", "[2001:db8::1]:8061"), (b"localhost.", "localhost."),
    (b"a b", None), (b"dms.example.net/x", None), (b"user@dms", None), (b"dms:99999", None), (b"dms:0", None),
    (b"[not:an:ip:zz]", None), (b"dms:", None), (b"", None), ("d\u00e9ms".encode(), None), (b"x" * 300, None),
    (b"\"><script>", None),
])
def test_host_header_syntax(value, expected):
    assert authority_from_host_header([value]) == expected


def test_two_host_headers_are_not_used():
    assert authority_from_host_header([b"a.example", b"b.example"]) is None
    assert authority_from_host_header(None) is None


def test_the_schema_listing_is_a_template_page(server):
    status, body = fetch_with_host(server, "/xsd/", PAYLOADS["script_tag"])
    page = body.decode()
    assert status == 200 and "<script" not in page
    assert '<a href="./Message.xsd">Message.xsd</a>' in page and '<a href="./MeterReadings.xsd">' in page


HOSTILE_PATH = "/wsdl/%3Cscript%3Edocument.title%3D'pwned'%3C%2Fscript%3E.wsdl"


def test_a_hostile_path_in_a_404_page_is_escaped(server):
    """Twisted's NoResource pasted the text in as markup; the not-found page is a template too."""
    status, body = fetch_with_host(server, HOSTILE_PATH, "localhost")
    page = body.decode()
    assert status == 404 and "<script" not in page
    assert "no WSDL named &lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;.wsdl" in page
    status, body = fetch_with_host(server, "/no/such/page", "localhost")
    assert status == 404 and "nothing at /no/such/page" in body.decode()


def test_the_template_escapes_what_the_host_check_would_let_through():
    """Defence in depth: handed the payload as its base URL, the template still renders it inert."""
    base = "http://" + PAYLOADS["attribute_on_load"]
    page = templates().get_template("discovery.html.j2").render(base=base, listing=endpoint_listing(base))
    assert "<script" not in page and 'data-x="' not in page
    assert 'x&#34; style=&#34;display:block;content-visibility:auto&#34;' in page


# ------------------------------------------------------------------------------------ chromium

@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as driver:
        yield driver


def _load_and_touch(browser, html: str, tmp_path: Path, name: str) -> dict:
    """Open `html` from a file, focus and hover every element (what a user's pointer and tab key would
    do, dispatched by the browser itself), and report what the page did."""
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    browser.get(page.as_uri())
    return browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const all = [...document.querySelectorAll('*')];
        for (const e of all) {
          if (e.focus) e.focus();
          // (no clicks: a click inside a link would follow it and leave the page)
          for (const kind of ['mouseover', 'mouseenter', 'mousemove']) e.dispatchEvent(new MouseEvent(kind, {bubbles: true}));
        }
        // two frames and a moment for anything the page scheduled (render-time events, timers)
        requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done({
          title: document.title,
          scripts: document.querySelectorAll('script').length,
          detail: (document.getElementById('detail') || {}).textContent,
          handlers: all.filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
          rows: [...document.querySelectorAll('tr.endpoint')].map(tr => ({
              service: tr.dataset.service,
              url: tr.querySelector('a.url').getAttribute('href'),
              wsdl: tr.querySelector('a.wsdl').getAttribute('href')})),
        }), 100)));""")


def _control_page(base: str) -> str:
    """The discovery page's link paragraph as it was built before Jinja2: the base pasted in unescaped."""
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{TITLE}</title></head><body>'
            f'<p>Programs: <a href="{base}/endpoints.json">{base}/endpoints.json</a>.</p></body></html>')


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_no_script_runs_in_chromium_from_a_hostile_host(server, browser, tmp_path, name):
    # the detector works: in the page as it used to be built, this payload runs
    control = _load_and_touch(browser, _control_page("http://" + PAYLOADS[name]), tmp_path, "control")
    assert control["title"] == "pwned"

    _, body = fetch_with_host(server, "/", PAYLOADS[name])
    seen = _load_and_touch(browser, body.decode("utf-8"), tmp_path, "served")
    assert seen["title"] == TITLE and seen["scripts"] == 0 and seen["handlers"] == 0
    host, port = _address(server)
    assert seen["rows"] == [{"service": s.name, "url": f"http://{host}:{port}/soap/{s.name}",
                             "wsdl": f"http://{host}:{port}/wsdl/{s.name}.wsdl"} for s in services()]


def test_no_script_runs_in_chromium_from_a_hostile_path(server, browser, tmp_path):
    _, body = fetch_with_host(server, HOSTILE_PATH, "localhost")
    seen = _load_and_touch(browser, body.decode("utf-8"), tmp_path, "not-found")
    assert seen["title"] == "404 - not found" and seen["scripts"] == 0
    assert seen["detail"] == "no WSDL named <script>document.title='pwned'</script>.wsdl"  # shown, as text


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_no_script_runs_in_chromium_when_the_template_gets_the_payload(browser, tmp_path, name):
    """The escaping layer alone (the Host check bypassed): the payload is an inert attribute value."""
    base = "http://" + PAYLOADS[name]
    html = templates().get_template("discovery.html.j2").render(base=base, listing=endpoint_listing(base))
    seen = _load_and_touch(browser, html, tmp_path, "rendered")
    assert seen["title"] == TITLE and seen["scripts"] == 0 and seen["handlers"] == 0
    assert [row["url"] for row in seen["rows"]] == [f"{base}/soap/{s.name}" for s in services()]

