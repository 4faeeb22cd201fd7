"""Generated XML-DSig documents whose canonical forms turn on namespaces and xml:* attributes.

Each document is built from a seed by `random.Random`, so a failure names the seed that
rebuilds it. What varies: default namespaces declared at several levels and undeclared with
xmlns="", prefixes declared, rebound at inner levels, used by elements and attributes or not
at all (ds among them, bound to other URIs too), xml:lang / xml:space / xml:base / xml:id on
any element, comments, processing instructions, escaped text and attribute values, and a
signed subtree (plain `ID="target"`) one to five levels deep. The ds:Signature goes at any
level outside the signed subtree, in one of three styles: in the default namespace as Apache
Santuario writes it, with its own ds prefix, or with a prefix declared once at the root.

The caller chooses the algorithms (`Shape`): the Reference's C14N and the
CanonicalizationMethod, each inclusive or exclusive, with or without comments; exclusive ones
get an InclusiveNamespaces PrefixList (often with #default) written with a prefix or in the
default namespace.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from lxml import etree

from soapbus.security import ns

DS_STYLES = ("default", "ds", "root-prefix")  # Santuario's xmlns="...xmldsig#", ds:, dsig: declared at the root
ROOT_DS_PREFIX = "dsig"  # never rebound by the generator, so the Signature can rely on the root's declaration
URIS = ("urn:a", "urn:b", "http://example.org/c#", ns.DS)
PREFIXES = ("p", "q", "r", "ds")
PREFIX_LIST_ITEMS = ("#default", "p", "q", "r", "ds", ROOT_DS_PREFIX, "ec", "unknown")
NAMES = ("a", "b", "item", "Value", "x-y", "SignedInfo")
ATTRIBUTE_NAMES = ("a", "b", "k")
TEXTS = ("x", " spaced  text ", "a &amp; b", "&lt;tag&gt; &quot;q&quot; 'a'", "line&#13;\nfeed\r\n", "\t\u00e9\u4e2d",
         "<![CDATA[c & <d>]]>", "\n  ")
VALUES = ("v", "a &amp; &quot;b&quot;", "&lt;&gt;", "&#9;&#10;&#13; tab", "  two  spaces ", "\u00e9", "")
XML_VALUES = {"lang": ("en", "de-CH", ""), "space": ("preserve", "default"),
              "base": ("http://example.org/base/", "relative/", "")}
C14N_FORMS = (ns.C14N10, ns.C14N10_WITH_COMMENTS, ns.EXC_C14N, ns.EXC_C14N_WITH_COMMENTS)
EXCLUSIVE = frozenset({ns.EXC_C14N, ns.EXC_C14N_WITH_COMMENTS})
TARGET_ID = "target"


@dataclass(frozen=True)
class Shape:
    reference_c14n: str | None  # the Reference's last transform, a C14N (None: no C14N named)
    signed_info_c14n: str
    ds_style: str
    signature_method: str = ns.RSA_SHA256
    enveloped: bool = False  # URI="" with the enveloped-signature transform first (IEC 62325-504)


def shapes_62325() -> list[Shape]:
    """The IEC 62325-504 shapes soapbus accepts: enveloped, then C14N 1.0, exclusive C14N or none named."""
    return [Shape(ref, info, style, enveloped=True)
            for ref, info, style in itertools.product((None, ns.C14N10, ns.EXC_C14N), (ns.C14N10, ns.EXC_C14N),
                                                      DS_STYLES)]


def shapes() -> list[Shape]:
    """Every combination of Reference C14N, CanonicalizationMethod and Signature style."""
    return [Shape(ref, info, style) for ref, info, style in itertools.product(C14N_FORMS, C14N_FORMS, DS_STYLES)]


def shape_id(shape: Shape) -> str:
    def short(uri):
        if uri is None:
            return "none"
        return ("exc" if uri in EXCLUSIVE else "inc") + ("+comments" if uri.endswith("Comments") else "")
    enveloped = "enveloped+" if shape.enveloped else ""
    return f"ref={enveloped}{short(shape.reference_c14n)},info={short(shape.signed_info_c14n)},sig={shape.ds_style}"


Scope = dict  # prefix (None: the default namespace) -> namespace URI ("" for the default: none)


class _Builder:
    def __init__(self, seed: int, shape: Shape):
        self.rng = random.Random(seed)
        self.shape = shape
        self.xml_ids = itertools.count(1)
        # IEC 62325-504 refuses comments and PIs in the message (its URI="" reference leaves them unsigned)
        self.misc = not shape.enveloped

    # ------------------------------------------------------------ pieces

    def declarations(self, scope: Scope, chance: float) -> dict:
        rng, decls = self.rng, {}
        roll = rng.random()
        if roll < chance:
            decls[None] = rng.choice(URIS)
        elif roll < chance * 1.6:
            decls[None] = ""  # undeclares a default in scope, or is superfluous: C14N must drop it then
        if rng.random() < chance:
            for prefix in rng.sample(PREFIXES, rng.randint(1, 2)):
                decls[prefix] = rng.choice(URIS)
        return decls

    def prefix_for(self, scope: Scope, decls: dict) -> str:
        """A prefix bound in scope (declaring it here when it is not)."""
        prefix = self.rng.choice(PREFIXES)
        if not {**scope, **decls}.get(prefix):
            decls[prefix] = self.rng.choice(URIS)
        return prefix

    def attributes(self, scope: Scope, decls: dict, count: int) -> list[tuple[str, str]]:
        rng, found, seen = self.rng, [], set()
        for _ in range(count):
            kind = rng.random()
            if kind < 0.25:
                local = rng.choice(tuple(XML_VALUES) + ("id",))
                value = f"xid{next(self.xml_ids)}" if local == "id" else rng.choice(XML_VALUES[local])
                name, expanded = f"xml:{local}", (ns.XML, local)
            elif kind < 0.6:
                prefix = self.prefix_for(scope, decls)
                local = rng.choice(ATTRIBUTE_NAMES)
                name, expanded, value = f"{prefix}:{local}", ({**scope, **decls}[prefix], local), rng.choice(VALUES)
            else:
                local = rng.choice(ATTRIBUTE_NAMES)
                name, expanded, value = local, (None, local), rng.choice(VALUES)
            if expanded not in seen:  # the same expanded name twice is not namespace-well-formed
                seen.add(expanded)
                found.append((name, value))
        return found

    @staticmethod
    def start_tag(name: str, decls: dict, attributes: list[tuple[str, str]], rng: random.Random) -> str:
        items = [(f"xmlns:{p}" if p else "xmlns", uri) for p, uri in decls.items()] + attributes
        rng.shuffle(items)  # C14N sorts; the source order must not matter
        return "<" + name + "".join(f' {key}="{value}"' for key, value in items)

    def element(self, scope: Scope, depth: int, extra: list[tuple[str, str]] | None = None) -> str:
        rng = self.rng
        decls = self.declarations(scope, 0.3)
        prefix = self.prefix_for(scope, decls) if rng.random() < 0.45 else None
        name = f"{prefix}:{rng.choice(NAMES)}" if prefix else rng.choice(NAMES)
        attributes = (extra or []) + self.attributes(scope, decls, rng.randint(0, 3))
        inner = {**scope, **decls}
        content = self.content(inner, depth)
        start = self.start_tag(name, decls, attributes, rng)
        return f"{start}/>" if not content and rng.random() < 0.5 else f"{start}>{content}</{name}>"

    def content(self, scope: Scope, depth: int) -> str:
        rng, parts = self.rng, []
        for _ in range(rng.randint(0, 3) if depth > 0 else rng.randint(0, 1)):
            roll = rng.random()
            if depth > 0 and roll < 0.55:
                parts.append(self.element(scope, depth - 1))
            elif roll < 0.8 or not self.misc:
                parts.append(rng.choice(TEXTS))
            elif roll < 0.92:
                parts.append(f"<!-- {rng.choice(('c', 'a &amp; b is not an entity here', '-x-'))} -->")
            else:
                parts.append(f"<?pi-{rng.randint(1, 3)} data {rng.choice(('', 'x=1', '&lt;'))}?>")
        return "".join(parts)

    # ------------------------------------------------------------ the signature

    def inclusive_namespaces(self, signature_scope: Scope) -> str:
        rng = self.rng
        items = rng.sample(PREFIX_LIST_ITEMS, rng.randint(1, 3))
        if "#default" not in items and rng.random() < 0.4:
            items.append("#default")
        prefix_list = " ".join(items)
        if rng.random() < 0.5:
            return f'<ec:InclusiveNamespaces xmlns:ec="{ns.EXC_C14N_NS}" PrefixList="{prefix_list}"/>'
        return f'<InclusiveNamespaces xmlns="{ns.EXC_C14N_NS}" PrefixList="{prefix_list}"/>'

    def c14n_parameters(self, method: str, scope: Scope) -> str:
        return self.inclusive_namespaces(scope) if method in EXCLUSIVE and self.rng.random() < 0.7 else ""

    def signature(self, scope: Scope) -> str:
        rng, shape = self.rng, self.shape
        prefix = {"default": None, "ds": "ds", "root-prefix": ROOT_DS_PREFIX}[shape.ds_style]
        decls = {} if scope.get(prefix) == ns.DS else {prefix: ns.DS}
        if rng.random() < 0.4:  # unused declarations on the Signature: inclusive C14N of SignedInfo renders them
            decls.setdefault(rng.choice(("p", "q")), rng.choice(URIS))
        attributes = self.attributes(scope, decls, rng.randint(0, 2)) if rng.random() < 0.3 else []
        inner = {**scope, **decls}

        def q(local):
            return f"{prefix}:{local}" if prefix else local

        comment = "<!-- inside SignedInfo -->" if rng.random() < 0.5 and self.misc else ""
        space = rng.choice(("", "\n  "))
        transforms = ([ns.ENVELOPED] if shape.enveloped else []) + (
            [shape.reference_c14n] if shape.reference_c14n else [])
        transforms_xml = "".join(f'<{q("Transform")} Algorithm="{uri}">{self.c14n_parameters(uri, inner)}'
                                 f"</{q('Transform')}>" for uri in transforms)
        uri = "" if shape.enveloped else f"#{TARGET_ID}"
        key_info = (f"<{q('KeyInfo')}><{q('X509Data')}><{q('X509Certificate')}/></{q('X509Data')}></{q('KeyInfo')}>"
                    if shape.enveloped else "")
        signed_info = (
            f"<{q('SignedInfo')}>{space}{comment}"
            f'<{q("CanonicalizationMethod")} Algorithm="{shape.signed_info_c14n}">'
            f"{self.c14n_parameters(shape.signed_info_c14n, inner)}</{q('CanonicalizationMethod')}>{space}"
            f'<{q("SignatureMethod")} Algorithm="{shape.signature_method}"/>{space}'
            f'<{q("Reference")} URI="{uri}"><{q("Transforms")}>{transforms_xml}</{q("Transforms")}>{space}'
            f'<{q("DigestMethod")} Algorithm="{ns.SHA256}"/><{q("DigestValue")}></{q("DigestValue")}>'
            f"</{q('Reference')}>{space}</{q('SignedInfo')}>")
        start = self.start_tag(q("Signature"), decls, attributes, rng)
        return f"{start}>{space}{signed_info}<{q('SignatureValue')}/>{space}{key_info}</{q('Signature')}>"

    # ------------------------------------------------------------ the document

    def document(self) -> bytes:
        rng = self.rng
        levels = rng.randint(1, 5)
        signature_level = rng.randrange(levels)
        root_decls = {ROOT_DS_PREFIX: ns.DS} if self.shape.ds_style == "root-prefix" else {}
        return self.level({}, 0, levels, signature_level, root_decls).encode()

    def message(self) -> bytes:
        """A 62325-504 message: a root holding a Header, whose last child is the Signature, and a Payload."""
        rng = self.rng
        decls = self.declarations({}, 0.6)
        if self.shape.ds_style == "root-prefix":
            decls[ROOT_DS_PREFIX] = ns.DS
        root = self.named(decls, {}, "RequestMessage")
        attributes = self.attributes({}, decls, rng.randint(0, 2))
        scope = dict(decls)
        header_decls = self.declarations(scope, 0.4)
        header = self.named(header_decls, scope, "Header")
        header_attributes = self.attributes(scope, header_decls, rng.randint(0, 2))
        header_scope = {**scope, **header_decls}
        fields = "".join(self.element(header_scope, rng.randint(0, 1)) for _ in range(rng.randint(1, 4)))
        header_xml = (f"{self.start_tag(header, header_decls, header_attributes, rng)}>{fields}"
                      f"{self.signature(header_scope)}</{header}>")
        payload = self.element(scope, 3)
        return f"{self.start_tag(root, decls, attributes, rng)}>{header_xml}{payload}</{root}>".encode()

    def named(self, decls: dict, scope: Scope, local: str) -> str:
        """`local`, unprefixed or with a prefix bound here or above (declared in `decls` where needed)."""
        return f"{self.prefix_for(scope, decls)}:{local}" if self.rng.random() < 0.4 else local

    def level(self, scope: Scope, index: int, levels: int, signature_level: int, forced: dict) -> str:
        rng = self.rng
        decls = {**self.declarations(scope, 0.45), **forced}
        prefix = self.prefix_for(scope, decls) if rng.random() < 0.4 else None
        name = f"{prefix}:{rng.choice(NAMES)}" if prefix else rng.choice(NAMES)
        attributes = self.attributes(scope, decls, rng.randint(0, 3))
        inner = {**scope, **decls}
        if index == levels - 1:
            inside = self.element(inner, rng.randint(0, 3), extra=[("ID", TARGET_ID)])
        else:
            inside = self.level(inner, index + 1, levels, signature_level, {})
        parts = [self.content(inner, 1), inside, self.content(inner, 1)]
        if index == signature_level:
            parts.insert(rng.choice((0, 1, 2, 3)), self.signature(inner))
        return f"{self.start_tag(name, decls, attributes, rng)}>{''.join(parts)}</{name}>"


def document(seed: int, shape: Shape) -> bytes:
    """The document `seed` builds for `shape`: well-formed, its Signature a template to fill."""
    return _Builder(seed, shape).document()


def message(seed: int, shape: Shape) -> bytes:
    """The IEC 62325-504 message `seed` builds for an enveloped `shape`, its Signature a template to fill."""
    return _Builder(seed, shape).message()


def parts(root: etree._Element) -> tuple[etree._Element, etree._Element]:
    """(the signed element, the ds:Signature) of a parsed corpus document."""
    (target,) = root.xpath("//*[@ID=$id]", id=TARGET_ID)
    (signature,) = root.xpath("//*[local-name()='Signature' and namespace-uri()=$ds]", ds=ns.DS)
    return target, signature
