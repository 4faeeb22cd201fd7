"""A set of XML Schema documents read from files, a WSDL's types, or both, with their imports.

Profiles of nouns soapbus does not ship arrive inside a vendor's WSDL (inline `xs:schema`
under `wsdl:types`) or beside it (`xs:import schemaLocation=...`). `SchemaSet.load` follows
every `wsdl:import`, `xs:import`, `xs:include` and `xs:redefine` it can resolve, keeps each
schema document standalone (inline schemas keep the namespaces declared on the WSDL), and
indexes the global components so that a walker (`samples.py`) can resolve QNames.

`compiled()` builds one lxml `XMLSchema` over all of them: libxml2 would otherwise fetch
imports itself (or not at all, for an import with no schemaLocation), so every document is
served from memory through a resolver and no network is touched while compiling.

No network code lives here: locations that are not local files are read through the `fetch`
callable the caller passes (the conformance harness passes one that uses HTTP).
"""
from __future__ import annotations

import threading
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
_MEM = "http://soapbus.invalid/schemaset/"  # never fetched: the resolver answers every URL under it
_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, remove_blank_text=True)
_COMPONENTS = ("element", "complexType", "simpleType", "group", "attributeGroup", "attribute")

Fetch = Callable[[str], bytes]


class SchemaSetError(Exception):
    """Schemas that cannot be read or compiled; the message names the location and the reason."""


def read_local(location: str) -> bytes:
    """The default fetch: local files only (a path or a file: URL)."""
    parts = urlsplit(location)
    if parts.scheme in ("http", "https"):
        raise SchemaSetError(f"{location}: only local files can be read here (pass a fetch for URLs)")
    path = parts.path if parts.scheme == "file" else location
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SchemaSetError(f"{location}: cannot read it ({exc.strerror or exc})") from None


@dataclass
class SchemaDoc:
    location: str
    root: etree._Element  # a standalone xs:schema
    target_ns: str  # the effective target namespace ("" for none; a chameleon include takes its includer's)


@dataclass
class SchemaSet:
    docs: list[SchemaDoc] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # imports that could not be read (kept, not fatal)

    def __post_init__(self):
        self._index: dict[tuple[str, str], etree._Element] = {}
        self._doc_of: dict[int, SchemaDoc] = {}
        self._compiled: threading.local = threading.local()
        self._contents: set[tuple[str, bytes]] = set()

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, locations: list[str] | str, fetch: Fetch = read_local) -> "SchemaSet":
        """Schemas from WSDL or XSD locations (paths or URLs), following their imports and includes."""
        out = cls()
        seen: set[str] = set()
        for location in [locations] if isinstance(locations, str) else list(locations):
            out._read(str(location), fetch, seen, None, required=True)
        out._reindex()
        return out

    @classmethod
    def from_documents(cls, documents: list[tuple[str, bytes]], fetch: Fetch = read_local) -> "SchemaSet":
        """Schemas from documents already in hand (location, bytes), following their imports."""
        out = cls()
        seen = {location for location, _ in documents}
        for location, data in documents:
            out._add_document(location, _parse(data, location), fetch, seen, None)
        out._reindex()
        return out

    def _read(self, location: str, fetch: Fetch, seen: set[str], chameleon_ns: str | None, required: bool) -> None:
        key = location.split("#", 1)[0]
        if key in seen:
            return
        seen.add(key)
        try:
            root = _parse(fetch(key), key)
        except SchemaSetError as exc:
            if required:
                raise
            self.problems.append(str(exc))
            return
        except Exception as exc:  # a fetch that failed its own way (HTTP error, timeout)
            if required:
                raise SchemaSetError(f"{key}: cannot read it ({exc})") from None
            self.problems.append(f"{key}: cannot read it ({exc})")
            return
        self._add_document(key, root, fetch, seen, chameleon_ns)

    def _add_document(self, location: str, root: etree._Element, fetch: Fetch, seen: set[str],
                      chameleon_ns: str | None) -> None:
        if root.tag == f"{{{WSDL}}}definitions":
            for schema in root.iter(f"{{{XS}}}schema"):
                self._add_schema(location, _standalone(schema), fetch, seen, None)
            for imported in root.iter(f"{{{WSDL}}}import"):
                if imported.get("location"):
                    self._read(urljoin(location, imported.get("location")), fetch, seen, None, required=False)
        elif root.tag == f"{{{XS}}}schema":
            self._add_schema(location, root, fetch, seen, chameleon_ns)
        else:
            raise SchemaSetError(f"{location}: neither a WSDL nor an XML Schema (root element {root.tag})")

    def _add_schema(self, location: str, root: etree._Element, fetch: Fetch, seen: set[str],
                    chameleon_ns: str | None) -> None:
        target_ns = root.get("targetNamespace") or chameleon_ns or ""
        content = (target_ns, etree.tostring(root, method="c14n"))
        if content in self._contents:
            return  # the same schema again (inline in several WSDLs, or at two addresses): once is enough
        self._contents.add(content)
        self.docs.append(SchemaDoc(location, root, target_ns))
        for child in root:
            if child.tag not in (f"{{{XS}}}import", f"{{{XS}}}include", f"{{{XS}}}redefine"):
                continue
            where = child.get("schemaLocation")
            if not where:
                continue
            inherit = target_ns if child.tag != f"{{{XS}}}import" else None
            self._read(urljoin(location, where), fetch, seen, inherit, required=False)

    def _reindex(self) -> None:
        self._index.clear()
        self._doc_of.clear()
        for doc in self.docs:
            self._doc_of[id(doc.root)] = doc
            for child in doc.root:
                kind = etree.QName(child).localname if isinstance(child.tag, str) else None
                if kind in _COMPONENTS and child.get("name"):
                    self._index.setdefault((kind, _clark(doc.target_ns, child.get("name"))), child)
        self._compiled = threading.local()

    # ------------------------------------------------------------ looking things up

    def component(self, kind: str, clark: str) -> etree._Element | None:
        """A global declaration: kind is element, complexType, simpleType, group, attributeGroup or attribute."""
        return self._index.get((kind, clark))

    def type_definition(self, clark: str) -> etree._Element | None:
        found = self.component("complexType", clark)
        return found if found is not None else self.component("simpleType", clark)

    def global_elements(self) -> list[str]:
        return [clark for kind, clark in self._index if kind == "element"]

    def doc_of(self, node: etree._Element) -> SchemaDoc:
        return self._doc_of[id(node.getroottree().getroot())]

    def target_namespace(self, node: etree._Element) -> str:
        return self.doc_of(node).target_ns

    def substitutes(self, head: str) -> list[str]:
        """Global elements whose substitutionGroup is `head` (a Clark name), in document order."""
        out = []
        for (kind, clark), decl in self._index.items():
            group = decl.get("substitutionGroup") if kind == "element" else None
            if group and resolve_qname(decl, group) == head:
                out.append(clark)
        return out

    # ------------------------------------------------------------ validating

    def compiled(self) -> etree.XMLSchema:
        """One XMLSchema over every document, compiled once per thread (lxml error logs are per object)."""
        schema = getattr(self._compiled, "schema", None)
        if schema is None:
            schema = self._compile()
            self._compiled.schema = schema
        return schema

    def validate(self, element: etree._Element) -> list[str]:
        """Problems of an element against the set ([] when valid), each with its line."""
        schema = self.compiled()
        document = etree.fromstring(etree.tostring(element))
        if schema.validate(document):
            return []
        return [f"line {e.line}: {e.message}" for e in schema.error_log]

    def _compile(self) -> etree.XMLSchema:
        if not self.docs:
            raise SchemaSetError("no schema to compile")
        served: dict[str, bytes] = {}
        by_ns: dict[str, list[int]] = {}
        for index, doc in enumerate(self.docs):
            by_ns.setdefault(doc.target_ns, []).append(index)
        for ns, indexes in by_ns.items():
            if ns == "":
                continue
            aggregate = etree.Element(f"{{{XS}}}schema", targetNamespace=ns, nsmap={"xs": XS})
            for index in indexes:
                etree.SubElement(aggregate, f"{{{XS}}}include", schemaLocation=f"{_MEM}doc/{index}.xsd")
            served[_namespace_url(ns, by_ns)] = etree.tostring(aggregate)
        for index, doc in enumerate(self.docs):
            served[f"{_MEM}doc/{index}.xsd"] = etree.tostring(_rewired(doc, by_ns))
        driver = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS})
        for ns in by_ns:
            if ns:
                etree.SubElement(driver, f"{{{XS}}}import", namespace=ns, schemaLocation=_namespace_url(ns, by_ns))
        for index in by_ns.get("", []):
            etree.SubElement(driver, f"{{{XS}}}include", schemaLocation=f"{_MEM}doc/{index}.xsd")
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        parser.resolvers.add(_MemoryResolver(served))
        tree = etree.fromstring(etree.tostring(driver), parser, base_url=f"{_MEM}driver.xsd").getroottree()
        try:
            return etree.XMLSchema(tree)
        except etree.XMLSchemaParseError as exc:
            raise SchemaSetError(f"the schemas do not compile: {exc}") from None


class _MemoryResolver(etree.Resolver):
    def __init__(self, served: dict[str, bytes]):
        super().__init__()
        self.served = served

    def resolve(self, url, pubid, context):
        data = self.served.get(url)
        if data is None:
            return None
        return self.resolve_string(data, context, base_url=url)


def _namespace_url(ns: str, by_ns: dict[str, list[int]]) -> str:
    return f"{_MEM}ns/{list(by_ns).index(ns)}.xsd"


def _rewired(doc: SchemaDoc, by_ns: dict[str, list[int]]) -> etree._Element:
    """A copy whose imports point at the in-memory namespaces and whose includes are dropped
    (the namespace's aggregate includes every document of it)."""
    root = _standalone(doc.root)
    if doc.target_ns and not root.get("targetNamespace"):
        root.set("targetNamespace", doc.target_ns)  # a chameleon document, placed where it was included
    for child in list(root):
        if child.tag in (f"{{{XS}}}include", f"{{{XS}}}redefine"):
            root.remove(child)
        elif child.tag == f"{{{XS}}}import":
            ns = child.get("namespace") or ""
            if ns in by_ns and ns:
                child.set("schemaLocation", _namespace_url(ns, by_ns))
            else:
                root.remove(child)  # nothing of that namespace was found: libxml2 reports what is missing
    return root


def _parse(data: bytes, location: str) -> etree._Element:
    try:
        return etree.fromstring(data, _PARSER, base_url=location)
    except etree.XMLSyntaxError as exc:
        raise SchemaSetError(f"{location}: not well-formed XML ({exc})") from None


def _standalone(schema: etree._Element) -> etree._Element:
    """A copy of an xs:schema as its own document, keeping every namespace in scope where it stood
    (QNames in attribute values such as type="tns:Foo" use prefixes declared on the WSDL)."""
    copy = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=schema.nsmap)
    for child in schema:
        copy.append(deepcopy(child))
    return copy


def _clark(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}" if ns else local


def resolve_qname(node: etree._Element, value: str) -> str:
    """The Clark name of a QName-valued attribute (type="m:Foo"), read with the node's in-scope prefixes."""
    prefix, _, local = value.strip().rpartition(":")
    ns = node.nsmap.get(prefix or None)
    if prefix and ns is None:
        raise SchemaSetError(f"the prefix {prefix!r} of {value!r} is not declared")
    return _clark(ns or "", local)


__all__ = ["SchemaSet", "SchemaDoc", "SchemaSetError", "XS", "read_local", "resolve_qname"]
