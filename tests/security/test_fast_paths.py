"""The cheaper ways some things are now done give what the plain ways gave.

Templates and Security headers come from a per-thread copy of the same shape, identifiers are
found by XPath, and the DOCTYPE check skips the pull parser for plain UTF-8: each is compared
here with the straightforward computation, or shown to refuse what it must.
"""
from __future__ import annotations

import base64
import copy
import threading
from datetime import datetime, timezone

import pytest
import xmlsec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from soapbus.security import (INVALID_SECURITY, SecurityFault, Verifier, algorithms, ids, ns, sign_envelope,
                              signed_bytes, template, timestamp, tokens)
from soapbus.security.ids import IdIndex
from soapbus.security.parts import locate, message_header
from soapbus.security.sign import _declaring_wsu, inclusive_namespaces, unused_prefixes

from .support import signed, wire
from .test_native_crypto import ENVELOPES, _parts

SHAPES = [
    (ns.EXC_C14N, ns.RSA_SHA256, [template.Ref("#a", [ns.EXC_C14N]), template.Ref("#b", [ns.EXC_C14N])]),
    (ns.EXC_C14N, ns.ECDSA_SHA256, [template.Ref("#a", [ns.EXC_C14N], ["x", "xsi"]), template.Ref("#b", [ns.EXC_C14N]),
                                    template.Ref("#c", [ns.EXC_C14N], ["y"])]),
    (ns.C14N10, ns.RSA_SHA256, [template.Ref("", [ns.ENVELOPED, ns.C14N10])]),
]


@pytest.mark.parametrize("c14n, method, refs", SHAPES)
def test_a_copied_template_is_the_template_built_afresh(c14n, method, refs):
    for _ in range(3):  # the first call builds the shape, later ones copy it
        assert etree.tostring(template.signature(c14n, method, refs)) == etree.tostring(template.build(c14n, method,
                                                                                                        refs))
    other = [template.Ref(r.uri + "-other", r.transforms, r.inclusive_prefixes) for r in refs]
    made = template.signature(c14n, method, other)
    assert [r.get("URI") for r in made.iter(ns.tag(ns.DS, "Reference"))] == [r.uri for r in other]
    made.find(f".//{{{ns.DS}}}SignatureValue").text = "changed"  # a copy: the kept shape stays empty
    assert template.signature(c14n, method, refs).find(f".//{{{ns.DS}}}SignatureValue").text is None


def test_templates_in_another_thread():
    c14n, method, refs = SHAPES[1]
    made = []
    worker = threading.Thread(target=lambda: made.append(etree.tostring(template.signature(c14n, method, refs))))
    worker.start()
    worker.join()
    assert made == [etree.tostring(template.build(c14n, method, refs))]


def _reference_unused_prefixes(target):
    """sign.unused_prefixes computed plainly: every element's namespaces against its parent's, every name read.

    An attribute's prefix is the one it is written with (XPath's name()), which is the one
    exclusive C14N declares for it; another prefix bound to the same namespace is not used by it.
    """
    declared, used = set(), set()
    for element in target.iter(etree.Element):
        parent = element.getparent()
        inherited = parent.nsmap if parent is not None else {}
        declared.update(p for p, uri in element.nsmap.items() if p and inherited.get(p) != uri)
        used.add(element.prefix)
        for i in range(1, len(element.attrib) + 1):
            name = element.xpath(f"name(@*[{i}])")
            used.add(name.split(":")[0] if ":" in name else None)
    return sorted(declared - used)


def _rendered_prefixes(target):
    """The prefixes exclusive C14N of `target` declares, read back by parsing its octets."""
    return {p for e in etree.fromstring(etree.tostring(target, method="c14n", exclusive=True)).iter() for p in e.nsmap}


TREES = [
    b'<r xmlns:a="urn:a"><a:b xmlns:x="urn:x" xmlns:y="urn:y"><c y:at="1">x:QName</c></a:b></r>',
    b'<r xmlns:a="urn:a" xmlns:b="urn:b"><a:t xmlns:c="urn:c" xmlns:a="urn:a">'
    b'<c:u xmlns:a="urn:a2" b:at="1"/></a:t></r>',
    b'<r><t xmlns="urn:d" xmlns:p="urn:d" xmlns:q="urn:q"><u p:id="1"/><q:v/></t></r>',
    b'<r xmlns:p="urn:p"><t xmlns:p="urn:other"><u xmlns:p="urn:p"/></t></r>',
    # declarations repeating the binding outside: no declaration at all for `t`, one for `u`
    b'<r xmlns:p="urn:p" xmlns:q="urn:q"><t xmlns:p="urn:p"><u xmlns:q="urn:q2" xmlns:p="urn:p"/></t></r>',
    # text, an attribute value, a comment and a processing instruction that read like declarations
    b'<r xmlns:a="urn:a"><t xmlns:x="urn:x" xmlns:y="urn:y" xmlns:z="urn:z"> xmlns:x="urn:x" '
    b'<a:u v=\'&gt; xmlns:y=&quot;urn:y&quot;\'/><!-- <a:w xmlns:z="urn:z"> --></t></r>',
    b'<r><t xmlns:x="urn:x" xmlns:y="urn:y"><?pi <u xmlns:x="urn:x"> ?><y:u/></t></r>',
    # an attribute written with one of two prefixes bound to its namespace
    b'<r xmlns:p="urn:p" xmlns:q="urn:p"><t xmlns:s="urn:s" xmlns:o="urn:s"><u q:at="1" o:at="2"/></t></r>',
]


def _built_tree() -> etree._Element:
    """Declarations as lxml's API makes them (nsmap on new elements), not as a parser does."""
    root = etree.Element("{urn:a}r", nsmap={"a": "urn:a", None: "urn:d"})
    child = etree.SubElement(root, "{urn:d}c", nsmap={"x": "urn:x", "a": "urn:a"})
    etree.SubElement(child, "{urn:x}g", {"{urn:a}at": "1", "{urn:q}q": "2"}, nsmap={"y": "urn:a"})
    return root


@pytest.mark.parametrize("xml", TREES + [None, "signed"])
def test_unused_prefixes_match_the_plain_computation(xml, keys):
    root = _built_tree() if xml is None else signed(keys.mdms) if xml == "signed" else etree.fromstring(xml)
    for target in root.iter(etree.Element):
        assert unused_prefixes(target) == _reference_unused_prefixes(target), etree.tostring(target)
        # what the PrefixList is for: exclusive C14N declares every declared prefix not listed
        assert set(_reference_unused_prefixes(target)).isdisjoint(_rendered_prefixes(target))


def test_a_prefix_read_as_unused_is_listed_and_kept_under_the_signature():
    """The cases whose octets read like declarations (see TREES): a named positive and negative control."""
    text = etree.fromstring(TREES[5])[0]
    assert unused_prefixes(text) == ["x", "y", "z"]  # only text, an attribute value and a comment hold them
    instruction = etree.fromstring(TREES[6])[0]
    assert unused_prefixes(instruction) == ["x"]  # the PI holds x, y:u uses y
    assert unused_prefixes(etree.fromstring(TREES[7])[0]) == ["s"]  # o:at uses o, nothing uses s
    repeated = etree.fromstring(TREES[4])[0]
    assert unused_prefixes(repeated) == ["q"] and unused_prefixes(repeated[0]) == ["q"]


def test_the_octets_made_to_find_the_prefixes_are_the_digest_input(keys):
    env = signed(keys.mdms)
    body = env.find(f"{{{ns.SOAP11_ENV}}}Body")
    found = inclusive_namespaces(body)
    assert found.prefixes == () and found.octets == etree.tostring(body, method="c14n", exclusive=True)
    with_qname = etree.fromstring(b'<b xmlns:x="urn:x"><e>x:QName</e></b>')
    assert inclusive_namespaces(with_qname) == (("x",), None)  # its digest is made with the PrefixList


def test_every_identifier_like_attribute_is_indexed():
    root = etree.fromstring(
        b'<r Id="root" xmlns:a="urn:a" xmlns:w="urn:w"><x a:ID="one"/><y id="two" a:Idx="no"/>'
        b'<z w:Id="three"/><q xml:id="four"/></r>')
    index = IdIndex(root)
    assert index.resolve("root").element is root
    assert index.resolve("one").attribute == "{urn:a}ID"
    assert index.resolve("two").element.tag == "y"
    assert index.resolve("three").element.tag == "z"
    assert index.resolve("four").element.tag == "q"
    with pytest.raises(SecurityFault):
        index.resolve("no")


def test_identifiers_carried_twice_under_different_names_are_ambiguous():
    root = etree.fromstring(b'<r xmlns:a="urn:a" xmlns:b="urn:b"><x a:Id="dup"/><y b:id="dup"/></r>')
    with pytest.raises(SecurityFault, match="duplicate Ids"):
        IdIndex(root).resolve("dup")
    inner = etree.fromstring(b'<r><x Id="i"><y ID="j"/></x><z Id="outside"/></r>')[0]
    scoped = IdIndex(inner)  # an index of a subtree sees that subtree only
    assert scoped.resolve("j").element.tag == "y"
    with pytest.raises(SecurityFault):
        scoped.resolve("outside")


def _recoded(data: bytes, codec: str, declared: str) -> bytes:
    text = data.decode("utf-8").split("?>", 1)[1]
    doctype = '<!DOCTYPE soapenv:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    declaration = f'<?xml version="1.0" encoding="{declared}"?>'
    if codec == "utf-7":  # Python writes '!' as itself; UTF-7 may also write it as '+ACE-', which hides it
        return (declaration + doctype.replace("!", "+ACE-")).encode() + text.encode(codec)
    return f"{declaration}{doctype}{text}".encode(codec)


@pytest.mark.parametrize("codec, declared", [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE"),
                                             ("utf-7", "UTF-7")])
def test_a_signed_envelope_with_a_doctype_in_another_encoding_is_refused(codec, declared, keys, verifier):
    data = _recoded(wire(signed(keys.mdms)), codec, declared)
    assert b"<!DOCTYPE" not in data
    with pytest.raises(SecurityFault) as refused:
        verifier.verify(data)
    assert refused.value.code == INVALID_SECURITY and "DOCTYPE" in refused.value.reason


@pytest.mark.parametrize("c14n, method, refs", SHAPES)
def test_a_copied_template_with_a_token_reference_is_the_one_built_afresh(c14n, method, refs):
    for uri in ("#X509-a", "#X509-b"):
        made = template.signature(c14n, method, refs, token_uri=uri)
        assert etree.tostring(made) == etree.tostring(template.build(c14n, method, refs, token_uri=uri))


def _plain_sign_envelope(envelope, key, sign_parts, key_reference, actor, created, ttl):
    """sign_envelope as first written: each element built in turn, python-xmlsec computing the values."""
    body = envelope.find(f"{{{ns.SOAP11_ENV}}}Body")
    soap_header = envelope.find(f"{{{ns.SOAP11_ENV}}}Header")
    if soap_header is None:
        soap_header = etree.Element(f"{{{ns.SOAP11_ENV}}}Header")
        envelope.insert(0, soap_header)
    security = etree.SubElement(soap_header, ns.SECURITY, nsmap=ns.NSMAP)
    security.set(ns.MUST_UNDERSTAND, "1")
    if actor:
        security.set(ns.ACTOR, actor)
    stamp = timestamp.build(created, ttl)
    security.append(stamp)
    token = tokens.binary_security_token(key) if key_reference == "bst" else None
    if token is not None:
        security.append(token)
    chosen = []
    if "Header" in sign_parts:
        chosen.append(_declaring_wsu(message_header(body)))
    if "Body" in sign_parts:
        chosen.insert(0, _declaring_wsu(body))
    if "Timestamp" in sign_parts:
        chosen.insert(1 if "Body" in sign_parts else 0, stamp)
    for element in chosen:
        ids.ensure_id(element)
    refs = [template.Ref("#" + t.get(ns.WSU_ID), [ns.EXC_C14N], unused_prefixes(t)) for t in chosen]
    signature = template.build(ns.EXC_C14N, algorithms.SIGNING[key.algorithm], refs)
    security.append(signature)
    ctx = xmlsec.SignatureContext()
    ctx.key = key.key
    for target in chosen:
        ctx.register_id(target, "Id", ns.WSU)
    ctx.sign(signature)
    template.key_info(signature).append(tokens.token_reference(key_reference, key, token))
    return envelope


@pytest.fixture
def counted_ids(monkeypatch):
    """Identifiers numbered per prefix, so two ways of signing can be compared byte for byte."""
    def restart():
        counters = {}

        def new_id(prefix="id"):
            counters[prefix] = counters.get(prefix, 0) + 1
            return f"{prefix}-{counters[prefix]:032x}"
        monkeypatch.setattr(ids, "new_id", new_id)
    return restart


# An envelope that declares wsu or ds already, under prefixes of its own: the copied Security header
# takes those prefixes (lxml points a moved element at a declaration of its namespace in scope), the
# element-by-element signer keeps its own. xmlsec refilling the copy's values covers it (test_native_crypto).
PREDECLARED = {"security-namespaces-on-envelope"}


@pytest.mark.parametrize("name", sorted(set(ENVELOPES) - PREDECLARED))
@pytest.mark.parametrize("key_reference", ["bst", "issuer_serial", "ski"])
@pytest.mark.parametrize("actor", [None, "urn:gateway"])
def test_sign_envelope_writes_what_the_element_by_element_signer_wrote(name, key_reference, actor, keys, counted_ids):
    """The Security header comes from a copied shape; RSA being deterministic, every byte must agree."""
    created = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    variants = {_parts(ENVELOPES[name]()), ("Body",), ("Timestamp",), ("Timestamp", "Body")}
    source = ENVELOPES[name]()
    for parts in sorted(variants):
        for _ in range(2):  # the shape is built (drawing identifiers of its own), then reused
            ours = sign_envelope(copy.deepcopy(source), keys.mdms, sign_parts=parts, key_reference=key_reference,
                                 actor=actor, now=created, ttl=60)
        counted_ids()
        ours = sign_envelope(copy.deepcopy(source), keys.mdms, sign_parts=parts, key_reference=key_reference,
                             actor=actor, now=created, ttl=60)
        counted_ids()
        plain = _plain_sign_envelope(copy.deepcopy(source), keys.mdms, parts, key_reference, actor, created, 60)
        assert etree.tostring(ours) == etree.tostring(plain), parts


def test_a_token_read_from_the_message_keeps_the_der_it_was_read_from(keys, trust, verifier):
    env = signed(keys.mdms)
    index = IdIndex(env)
    parts = locate(env, None)
    token = tokens.resolve(parts.signature, trust, index=index, security=parts.security)
    assert token.der == keys.mdms.certificate_der == token.certificate.public_bytes(serialization.Encoding.DER)
    trust.validate(token.certificate, datetime.now(timezone.utc), der=token.der)


# ---------------------------------------------------------------- signed_bytes: the header joined from pieces

ACTORS = [None, "urn:gateway", 'urn:a&b<"c">']  # the last one escaped in the attribute


def _both_ways(source, key, counted_ids, **options) -> tuple[bytes, bytes]:
    """(signed_bytes, the signed tree serialised) of one envelope with the same identifiers and time:
    a first signing builds the shape (drawing identifiers of its own), then the counter restarts."""
    sign_envelope(copy.deepcopy(source), key, **options)
    counted_ids()
    tree = wire(sign_envelope(copy.deepcopy(source), key, **options))
    counted_ids()
    return signed_bytes(copy.deepcopy(source), key, **options), tree


@pytest.mark.parametrize("name", sorted(ENVELOPES))
@pytest.mark.parametrize("key_reference", ["bst", "issuer_serial", "ski"])
@pytest.mark.parametrize("actor", ACTORS)
def test_signed_bytes_are_the_signed_tree_serialised(name, key_reference, actor, keys, counted_ids):
    """RSA is deterministic: with the same identifiers and time, every byte must agree with the tree's."""
    created = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    source = ENVELOPES[name]()
    for parts in sorted({_parts(source), ("Body",), ("Timestamp",), ("Timestamp", "Body")}):
        options = dict(sign_parts=parts, key_reference=key_reference, actor=actor, now=created, ttl=60)
        data, tree = _both_ways(source, keys.mdms, counted_ids, **options)
        assert data == tree, parts


def test_signed_bytes_join_the_header_where_they_can_and_build_it_where_they_must(keys, trust):
    plain = ENVELOPES["61968-request"]()
    data = signed_bytes(plain, keys.mdms, sign_parts=("Body", "Timestamp", "Header"))
    assert plain.find(f".//{{{ns.WSSE}}}Security") is None  # joined from pieces, never a tree
    assert Verifier(trust).verify(data).header is not None
    # the Envelope declares wsu and ds under prefixes of its own: the header takes them, as a tree
    declared = ENVELOPES["security-namespaces-on-envelope"]()
    data = signed_bytes(declared, keys.mdms)
    assert declared.find(f".//{{{ns.WSSE}}}Security") is not None and b"<u:Timestamp" in data
    Verifier(trust).verify(data)
    # a part holding the header: its digest covers the header as it stands then, so the tree is needed
    holding = ENVELOPES["61968-request"]()
    soap_header = etree.SubElement(holding, f"{{{ns.SOAP11_ENV}}}Header", nsmap={"wsu": ns.WSU})
    holding.insert(0, soap_header)
    data = signed_bytes(holding, keys.mdms, extra_parts=[soap_header])
    assert soap_header.find(ns.SECURITY) is not None and data == wire(holding)


def test_signed_bytes_put_the_header_after_the_header_blocks_there_are(keys, counted_ids):
    source = ENVELOPES["61968-request"]()
    soap_header = etree.Element(f"{{{ns.SOAP11_ENV}}}Header")
    source.insert(0, soap_header)
    etree.SubElement(soap_header, "{urn:r}Routing", nsmap={"r": "urn:r"}).text = "to OMS"
    soap_header[0].tail = "\n"
    created = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    data, tree = _both_ways(source, keys.mdms, counted_ids, now=created)
    assert data == tree
    assert tree.index(b"</r:Routing>\n<wsse:Security") < tree.index(b"</soapenv:Header>")


@pytest.mark.parametrize("inside", ['<!-- <b xmlns:x="urn:x"> -->', '<?pi <b xmlns:x="urn:x"> ?>'])
def test_signed_bytes_of_a_body_with_a_comment_or_pi_are_the_signed_tree_serialised(inside, keys, counted_ids):
    """Either may hold what reads like a declaration (our verifier refuses both in signed parts; a signer need not)."""
    source = etree.fromstring(f'<s:Envelope xmlns:s="{ns.SOAP11_ENV}"><s:Body><a xmlns="urn:a" xmlns:x="urn:x">'
                              f'{inside}<t>x:QName</t></a></s:Body></s:Envelope>'.encode())
    created = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    data, tree = _both_ways(source, keys.mdms, counted_ids, now=created)
    assert data == tree
    assert b'PrefixList="x"' in tree


def test_a_body_id_that_needs_escaping_is_canonicalised_not_joined(keys):
    """An Id the caller set goes into a Reference URI; one C14N writes otherwise is not taken from pieces."""
    env = ENVELOPES["61968-request"]()
    body = env.find(f"{{{ns.SOAP11_ENV}}}Body")
    body = _declaring_wsu(body)
    body.set(ns.WSU_ID, 'b&"1')
    data = signed_bytes(env, keys.mdms)
    sent = etree.fromstring(data)
    info = sent.find(f".//{{{ns.DS}}}SignedInfo")
    assert info[2].get("URI") == '#b&"1'
    value = base64.b64decode(sent.find(f".//{{{ns.DS}}}SignatureValue").text)
    octets = etree.tostring(info, method="c14n", exclusive=True)
    assert b'URI="#b&amp;&quot;1"' in octets
    keys.mdms.certificate.public_key().verify(value, octets, padding.PKCS1v15(), hashes.SHA256())
