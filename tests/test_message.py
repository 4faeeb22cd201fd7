"""soapbus.message on its own: pure data and XML, no I/O."""
from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.message import codes, namespaces, soap, verbs, xml


def _request(**kw):
    return m.RequestMessage(m.Header("create", "MeterReadings", timestamp=m.now(), message_id=m.new_message_id(), **kw),
                            None, m.Payload(documents=[etree.fromstring(b"<p:MeterReadings xmlns:p='urn:p'/>")]))


def test_verb_table_matches_the_standard():
    assert {v: s.event for v, s in verbs.REQUEST_VERBS.items()} == {
        "get": None, "create": "created", "change": "changed", "cancel": "canceled", "close": "closed",
        "delete": "deleted", "execute": "executed"}
    assert verbs.normalize("UPDATE") == "change" and verbs.normalize("updated") == "changed"
    assert verbs.normalize("show") == "reply"
    assert not verbs.is_known("subscribe") and not verbs.is_known("publish")
    assert verbs.REQUEST_VERBS["get"].reply_has_payload and not verbs.REQUEST_VERBS["create"].reply_has_payload


def test_reply_codes_are_only_the_public_ones():
    assert codes.describe("6.1").startswith("cancelled by a business rule")
    assert codes.is_success("0.3") and not codes.is_success("2.4")
    assert "9.9" not in codes.CODES


def test_header_fields_are_emitted_in_schema_order():
    header = m.Header("get", "MeterReadings", revision="1", replay_detection=m.ReplayDetection("n", m.now()),
                      context="TESTING", timestamp=m.now(), source="S", async_reply_flag=True, reply_address="http://x",
                      ack_required=False, user=m.User("u", "org"), message_id="mid", correlation_id="cid",
                      comment="c", properties=[("a", "b")])
    el = m.to_element(m.RequestMessage(header))
    order = [etree.QName(c).localname for c in el.find(f"{{{namespaces.MSG}}}Header")]
    assert order == ["Verb", "Noun", "Revision", "ReplayDetection", "Context", "Timestamp", "Source", "AsyncReplyFlag",
                     "ReplyAddress", "AckRequired", "User", "MessageID", "CorrelationID", "Comment", "Property"]
    back = m.parse(el)
    assert back.header == header


def test_www_namespace_is_accepted_on_input_and_standard_one_emitted():
    text = m.to_bytes(_request()).replace(namespaces.MSG.encode(), namespaces.MSG_WWW.encode())
    parsed = m.parse(m.parse_bytes(text))
    assert parsed.header.verb == "create"
    assert namespaces.MSG_WWW.encode() not in m.to_bytes(parsed)


def test_correlation_id_echo_and_fresh_uuid():
    req = _request()
    reply = m.reply_to(req.header, m.ok())
    assert reply.header.correlation_id == req.header.message_id
    assert uuid.UUID(reply.header.message_id) and reply.header.message_id != req.header.message_id
    assert reply.header.timestamp.tzinfo is not None
    req.header.correlation_id = "conv"
    assert m.reply_to(req.header, m.ok()).header.correlation_id == "conv"


def test_ok_reply_always_carries_error_0_0():
    el = m.to_element(m.reply_to(_request().header, m.Reply(result="OK")))
    assert el.findtext(f".//{{{namespaces.MSG}}}code") == "0.0"


def test_event_for_a_transaction_carries_the_request_payload():
    req = _request()
    event = m.event_for_request(req, "DMS")
    assert event.header.verb == "created" and event.payload is req.payload
    assert event.header.correlation_id == req.header.message_id


def test_naive_timestamps_are_refused_on_output_and_read_as_utc_on_input():
    with pytest.raises(ValueError):
        m.format_time(datetime(2026, 1, 1))
    assert m.parse_time("2026-01-01T00:00:00", "x").tzinfo == timezone.utc


def test_compressed_payload_round_trip():
    doc = etree.fromstring(b"<p:MeterReadings xmlns:p='urn:p'><p:x>1</p:x></p:MeterReadings>")
    payload = m.Payload.compress(doc)
    back = m.parse(m.to_element(m.RequestMessage(m.Header("create", "X"), None, payload))).payload
    assert etree.tostring(back.expanded_documents()[0]) == etree.tostring(doc)
    with pytest.raises(m.MessageError) as bad:
        m.Payload(compressed="not base64 gzip").expanded_documents()
    assert bad.value.code == "1.8"


@pytest.mark.parametrize("xml, code", [
    (b"<m:RequestMessage xmlns:m='http://iec.ch/TC57/2011/schema/message'/>", "1.5"),
    (b"<m:RequestMessage xmlns:m='http://iec.ch/TC57/2011/schema/message'><m:Header><m:Verb>get</m:Verb>"
     b"</m:Header></m:RequestMessage>", "1.5"),
    (b"<m:RequestMessage xmlns:m='http://iec.ch/TC57/2011/schema/message'><m:Header><m:Verb>get</m:Verb>"
     b"<m:Noun>X</m:Noun><m:Timestamp>yesterday</m:Timestamp></m:Header></m:RequestMessage>", "1.8"),
    (b"<m:RequestMessage xmlns:m='http://iec.ch/TC57/2011/schema/message'><m:Header><m:Verb>get</m:Verb>"
     b"<m:Noun>X</m:Noun><m:AckRequired>maybe</m:AckRequired></m:Header></m:RequestMessage>", "1.8"),
])
def test_unreadable_messages_have_their_codes(xml, code):
    with pytest.raises(m.MessageError) as err:
        m.parse(m.parse_bytes(xml))
    assert err.value.code == code


def test_soap_unwrap_and_generic_wrapper():
    inner = m.to_element(_request(), wrapper=f"{{{namespaces.ABSTRACT}}}message")
    wrapper = etree.Element(f"{{{namespaces.ABSTRACT}}}Request")
    wrapper.append(inner)
    unwrapped = soap.unwrap(soap.to_bytes(soap.envelope(wrapper)))
    assert etree.QName(unwrapped.message).localname == "message"
    assert m.parse(unwrapped.message, "RequestMessage").header.noun == "MeterReadings"
    with pytest.raises(m.MessageError):
        soap.unwrap(b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'/>")


DEV_ZERO = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % z SYSTEM "/dev/zero"> %z;]>
<x/>"""
PASSWD = b"""<?xml version="1.0"?><!DOCTYPE x SYSTEM "/etc/passwd"><x/>"""


@pytest.mark.parametrize("doc", [DEV_ZERO, PASSWD], ids=["parameter-entity-dev-zero", "external-subset"])
def test_doctype_refused_before_anything_is_read(doc):
    # in a child process with a time limit: a parser that follows the entity never returns
    code = ("import sys; from soapbus.message import parse_bytes, MessageError\n"
            "try:\n    parse_bytes(sys.stdin.buffer.read())\nexcept MessageError as e:\n    print(e.reason)")
    done = subprocess.run([sys.executable, "-c", code], input=doc, capture_output=True, timeout=20)
    assert b"DOCTYPE" in done.stdout, done.stderr


# ---------------------------------------------------------------- DOCTYPE in other encodings

def _encoded(text: str, codec: str, declared: str | None = None, bom: bytes = b"") -> bytes:
    declaration = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    return bom + (declaration + text).encode(codec)


_DEV_ZERO_TEXT = '<!DOCTYPE x [<!ENTITY % z SYSTEM "/dev/zero"> %z;]><x/>'
_PASSWD_TEXT = '<!DOCTYPE x SYSTEM "/etc/passwd"><x/>'
ENCODED_DOCTYPES = {
    "utf-16-bom": lambda t: _encoded(t, "utf-16", "UTF-16"),
    "utf-16le-no-bom": lambda t: _encoded(t, "utf-16-le", "UTF-16LE"),
    "utf-16be-no-bom": lambda t: _encoded(t, "utf-16-be", "UTF-16BE"),
    "utf-16le-undeclared": lambda t: _encoded(t, "utf-16-le", bom=b"\xff\xfe"),
    # '<+ACE-DOCTYPE' is '<!DOCTYPE' in UTF-7: no literal '<!DOCTYPE' bytes, yet a DOCTYPE
    "utf-7": lambda t: b'<?xml version="1.0" encoding="UTF-7"?>' + t.replace("!", "+ACE-").encode("ascii"),
    "utf-7-lowercase-name": lambda t: b"<?xml version='1.0' encoding='utf-7'?>" + t.replace("!", "+ACE-").encode(),
}


@pytest.mark.parametrize("encoding", list(ENCODED_DOCTYPES))
@pytest.mark.parametrize("text", [_PASSWD_TEXT, _DEV_ZERO_TEXT], ids=["external-subset", "parameter-entity-dev-zero"])
def test_doctype_in_other_encodings_is_refused_before_anything_is_read(encoding, text):
    doc = ENCODED_DOCTYPES[encoding](text)
    assert b"<!DOCTYPE" not in doc  # the literal bytes are not there: only a parser can see it
    code = ("import sys; from soapbus.message import parse_bytes, MessageError\n"
            "try:\n    parse_bytes(sys.stdin.buffer.read())\nexcept MessageError as e:\n    print(e.reason)")
    done = subprocess.run([sys.executable, "-c", code], input=doc, capture_output=True, timeout=20)
    assert b"carries a DOCTYPE" in done.stdout, (done.stdout, done.stderr)


ORDINARY = [
    b"<x/>",
    b'<?xml version="1.0" encoding="UTF-8"?>\n<x a="1">t</x>',
    b"<?xml version='1.0' encoding='us-ascii' standalone='yes' ?><x/>",
    b'<?xml version="1.0" encoding="ISO-8859-1"?><x>\xe9</x>',
    b'\xef\xbb\xbf<?xml version="1.0"?><x/>',
    b"\r\n\t <x/>",
    b"<x a='?!'>what? <y/>yes! <z>a&lt;b ! c&gt;?</z></x>",
]
# No DOCTYPE, but bytes the fast path does not vouch for: the pull parser clears them.
LOOK_ALIKES = [
    b"<x><!-- a comment saying <!DOCTYPE --><![CDATA[<!DOCTYPE x>]]></x>",
    b"<x><?xml-stylesheet href='a'?></x>",
    b"<x>?!<?XmL-ish ?></x>",
    b"<x><!-- --><!-- <!DocType --></x>",
]
SUSPECT = LOOK_ALIKES + [
    b'<?xml version="1.0"?><!DOCTYPE x><x/>',
    b"<!doctype x><x/>",
    b'<?xml version="1.0" encoding="UTF-7"?><x/>',
    b'<?xml version="1.0" encoding="IBM037"?><x/>',
    b'<?xml version="1.0" encoding="Shift_JIS"?><x/>',
    b'<?xml encoding="UTF-7"?><x/>',
    b'<?xml version="1.0"?><?xml version="1.0" encoding="UTF-7"?><x/>',
    b' <?xml version="1.0" encoding="UTF-7"?><x/>',
    b'<?XML version="1.0"?><x/>',
    "<x/>".encode("utf-16"),
    "<x/>".encode("utf-16-le"),
    "<x/>".encode("utf-32"),
    b"<x>\x00</x>",
    b"x<x/>",
]


@pytest.mark.parametrize("doc", ORDINARY + SUSPECT)
def test_the_doctype_fast_path_agrees_with_the_pull_parser(doc):
    def outcome(fn):
        try:
            return fn(doc)
        except etree.XMLSyntaxError:
            return "not well-formed"

    assert outcome(xml.doctype_of) == outcome(xml._doctype_by_parsing)


@pytest.mark.parametrize("doc", ORDINARY)
def test_ordinary_utf8_messages_skip_the_pull_parser(doc):
    assert xml._proven_without_doctype(doc)


@pytest.mark.parametrize("doc", SUSPECT)
def test_anything_else_goes_through_the_pull_parser(doc):
    assert not xml._proven_without_doctype(doc)


def test_doctype_text_in_a_comment_or_cdata_is_not_a_doctype():
    assert m.parse_bytes(LOOK_ALIKES[0]).xpath("string()") == "<!DOCTYPE x>"
