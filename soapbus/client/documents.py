"""A WSDL and every document it imports, read once, before anything interprets them.

Discovery reads the WSDL itself, its wsdl:imports and every xs:import / xs:include /
xs:redefine of its schemas, following them the way zeep would (same absolute locations).
Local schema folders (`--schema DIR`, `schema_dirs=`) are looked at first, by the imported
namespace and then by file name, so a WSDL whose imports point somewhere unreachable (or
nowhere: an xs:import with no schemaLocation) can still be read. A document that cannot be
had is one line naming the namespace, the location and who imported it, never a traceback.
zeep is then handed exactly these documents (`DocumentTransport`), so both readings agree.
"""
from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests
from lxml import etree
from zeep.loader import absolute_location, normalize_location
from zeep.settings import Settings

from .errors import DiscoveryError
from .tls import describe_tls_error

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Namespaces every schema processor knows without a document: an unresolved import of them is no error.
BUILT_IN = frozenset({XSD_NS, XML_NS, "http://www.w3.org/2001/XMLSchema-instance",
                      "http://schemas.xmlsoap.org/soap/encoding/", "http://www.w3.org/2003/05/soap-encoding",
                      WSDL_NS, "http://schemas.xmlsoap.org/wsdl/soap/", "http://schemas.xmlsoap.org/wsdl/soap12/"})
# Attributes whose value is a QName: a namespace only referenced through one of these must be loaded.
_QNAME_ATTRIBUTES = ("type", "ref", "base", "element", "itemType", "substitutionGroup", "message", "binding")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_blank_text=False)


@dataclass(frozen=True)
class SchemaDirs:
    """Local XSD files by target namespace and by file name, from the folders given."""

    folders: tuple[str, ...] = ()
    by_namespace: dict = field(default_factory=dict)  # namespace -> path
    by_name: dict = field(default_factory=dict)  # file name -> path

    def find(self, namespace: str | None, location: str | None) -> Path | None:
        if namespace and namespace in self.by_namespace:
            return self.by_namespace[namespace]
        if location:
            return self.by_name.get(os.path.basename(urlsplit(location).path or location))
        return None


@lru_cache(maxsize=32)
def schema_dirs(folders: tuple[str, ...]) -> SchemaDirs:
    """Index the XSD files under each folder (first folder wins for a namespace or name)."""
    by_namespace: dict[str, Path] = {}
    by_name: dict[str, Path] = {}
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise DiscoveryError(f"schema folder {folder}: not a directory (give --schema a folder of .xsd files)")
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() == ".xsd" and p.is_file()):
            by_name.setdefault(path.name, path.resolve())
            try:
                tns = etree.parse(str(path), _PARSER).getroot().get("targetNamespace")
            except (etree.XMLSyntaxError, OSError):
                continue  # a broken file is found by name only, and its error shows when it is used
            if tns:
                by_namespace.setdefault(tns, path.resolve())
    return SchemaDirs(tuple(folders), by_namespace, by_name)


@dataclass
class Document:
    key: str  # the location zeep asks for (absolute URL or path)
    origin: str  # where the bytes came from: the same, or a local schema file
    root: etree._Element


@dataclass
class DocumentSet:
    """Everything one WSDL needs, parsed once: the WSDL, its imports and every schema."""

    root_key: str
    documents: dict[str, Document]
    schemas: list[tuple[etree._Element, str | None]]  # every xs:schema with its effective targetNamespace

    def content(self, key: str) -> bytes | None:
        document = self.documents.get(key)
        return etree.tostring(document.root, xml_declaration=True, encoding="utf-8") if document else None

    def origins(self) -> tuple[str, ...]:
        return tuple(d.origin if d.origin == d.key else f"{d.key} (from {d.origin})" for d in self.documents.values())


class DocumentTransport:
    """zeep's loader served from a DocumentSet; everything else is the caller's transport."""

    def __init__(self, inner, documents: DocumentSet):
        self._inner = inner
        self._documents = documents

    def load(self, url: str) -> bytes:
        content = self._documents.content(url)
        return content if content is not None else self._inner.load(url)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def root_key(location: str) -> str:
    """The absolute location zeep uses for a WSDL given as a URL or a (relative) path."""
    if urlsplit(location).scheme in ("http", "https", "file"):
        return location
    return os.path.abspath(location)


def load(location: str, fetch, dirs: SchemaDirs) -> DocumentSet:
    """Read the WSDL at `location` and every document it imports; `fetch(url) -> bytes`."""
    key = root_key(location)
    try:
        root = _parse(_read(fetch, key), key)
    except _Unavailable as exc:
        raise DiscoveryError(f"cannot fetch the WSDL {location}: {exc.reason}") from None
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"cannot read the WSDL {location}: it is not XML ({exc})") from None
    loader = _Loader(fetch, dirs, DocumentSet(key, {key: Document(key, key, root)}, []))
    loader.visit(key, root)
    loader.check_namespace_only_imports()
    return loader.found


class _Unavailable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _read(fetch, url: str) -> bytes:
    if urlsplit(url).scheme == "file":
        url = unquote(urlsplit(url).path)
    try:
        return fetch(url)
    except requests.HTTPError as exc:
        raise _Unavailable(f"HTTP {exc.response.status_code if exc.response is not None else 'error'}") from None
    except requests.exceptions.SSLError as exc:  # before ConnectionError, of which it is one
        raise _Unavailable(describe_tls_error(exc)) from None
    except requests.ConnectionError as exc:
        raise _Unavailable(f"connection failed ({str(exc).split(':')[-1].strip() or 'refused'})") from None
    except requests.RequestException as exc:
        raise _Unavailable(str(exc) or exc.__class__.__name__) from None
    except FileNotFoundError:
        raise _Unavailable("no such file") from None
    except (OSError, ValueError) as exc:
        raise _Unavailable(str(exc) or exc.__class__.__name__) from None


_ZEEP_SETTINGS = Settings()


def _key(location: str, base: str, xs_import: bool) -> str:
    """The absolute location zeep will ask the transport for (xs:import normalises, include and wsdl:import join)."""
    if xs_import:
        return normalize_location(_ZEEP_SETTINGS, location, base)
    return absolute_location(location, base)


def _built_in_stub(namespace: str) -> bytes:
    """A stand-in for a well-known schema that cannot be fetched: xml:lang/space/base/id, or nothing."""
    attributes = ""
    if namespace == XML_NS:
        attributes = "".join(f'<xs:attribute name="{name}" type="xs:string"/>' for name in ("lang", "space", "base", "id"))
    return f'<xs:schema xmlns:xs="{XSD_NS}" targetNamespace="{namespace}">{attributes}</xs:schema>'.encode()


def _parse(content: bytes, where: str) -> etree._Element:
    return etree.fromstring(content, _PARSER, base_url=where)


class _Loader:
    """Breadth-first over imports; each document once, keyed as zeep will ask for it."""

    def __init__(self, fetch, dirs: SchemaDirs, found: DocumentSet):
        self.fetch = fetch
        self.dirs = dirs
        self.found = found
        self.queue: deque[tuple[str, etree._Element]] = deque()
        self.namespace_only: list[tuple[str, str]] = []  # (namespace, importer) with no schemaLocation

    def visit(self, key: str, root: etree._Element) -> None:
        self.queue.append((key, root))
        while self.queue:
            base, node = self.queue.popleft()
            if node.tag == f"{{{WSDL_NS}}}definitions":
                self._wsdl(base, node)
            elif node.tag == f"{{{XSD_NS}}}schema":
                self._schema(base, node, node.get("targetNamespace"))

    def _wsdl(self, base: str, definitions: etree._Element) -> None:
        for imported in definitions.findall(f"{{{WSDL_NS}}}import"):
            location = imported.get("location")
            if location:
                self._follow(base, imported.get("namespace"), location, imported, chameleon=None, wsdl=True)
        # Only wsdl:types holds schemas (the public Get template has a stray xs:schema outside it, which zeep ignores too).
        for schema in definitions.findall(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema"):
            self._schema(base, schema, schema.get("targetNamespace"))

    def _schema(self, base: str, schema: etree._Element, tns: str | None) -> None:
        self.found.schemas.append((schema, tns))
        for node in schema:
            if node.tag == f"{{{XSD_NS}}}import":
                namespace, location = node.get("namespace"), node.get("schemaLocation")
                if location or self.dirs.find(namespace, None):
                    self._follow(base, namespace, location, node, chameleon=None)
                elif namespace:
                    self.namespace_only.append((namespace, base))
            elif node.tag in (f"{{{XSD_NS}}}include", f"{{{XSD_NS}}}redefine") and node.get("schemaLocation"):
                self._follow(base, tns, node.get("schemaLocation"), node, chameleon=tns or "")

    def _follow(self, base: str, namespace: str | None, location: str | None, node: etree._Element,
                chameleon: str | None, wsdl: bool = False) -> None:
        local = self.dirs.find(namespace if chameleon is None else None, location)
        if not location:  # an xs:import naming only a namespace that a schema folder holds: zeep must be told where
            location = str(local)
            node.set("schemaLocation", location)
        key = _key(location, base, xs_import=not wsdl and chameleon is None)
        if key in self.found.documents:
            self._add_schema_of(key, chameleon)
            return
        try:
            content = local.read_bytes() if local is not None else _read(self.fetch, key)
        except _Unavailable as exc:
            if namespace not in BUILT_IN:
                raise DiscoveryError(self._missing(namespace, location, base, exc.reason)) from None
            content = _built_in_stub(namespace)  # e.g. xml.xsd at w3.org, unreachable offline
        try:
            root = _parse(content, key)
        except etree.XMLSyntaxError as exc:
            raise DiscoveryError(f"{key} (imported by {base}) is not XML: {exc}") from None
        self.found.documents[key] = Document(key, str(local) if local is not None else key, root)
        if chameleon is not None and root.tag == f"{{{XSD_NS}}}schema":
            # An included schema without a targetNamespace takes the including one's.
            self._schema(key, root, root.get("targetNamespace") or chameleon or None)
        else:
            self.queue.append((key, root))

    def _add_schema_of(self, key: str, chameleon: str | None) -> None:
        """A chameleon schema included again under another namespace is indexed under that one too."""
        root = self.found.documents[key].root
        if chameleon and root.tag == f"{{{XSD_NS}}}schema" and not root.get("targetNamespace"):
            if (root, chameleon) not in self.found.schemas:
                self.found.schemas.append((root, chameleon))

    def _missing(self, namespace: str | None, location: str | None, base: str, reason: str) -> str:
        what = f"the schema for namespace {namespace}" if namespace else "an included schema"
        hint = f"an XSD whose targetNamespace is {namespace}" if namespace else "that file"
        if location:
            name = os.path.basename(urlsplit(location).path or location)
            hint += f" (or a file named {name})"
        return (f"{what} at {location or '(no schemaLocation)'}, imported by {base}, cannot be loaded ({reason}); "
                f"give --schema DIR (schema_dirs= in Python) with {hint}")

    def check_namespace_only_imports(self) -> None:
        """An xs:import with no location is fine if another schema supplies the namespace, or nobody uses it."""
        provided = {tns for _, tns in self.found.schemas}
        missing = {ns: base for ns, base in self.namespace_only if ns not in provided and ns not in BUILT_IN}
        if not missing:
            return
        used = self._referenced_namespaces()
        for namespace, base in missing.items():
            if namespace in used:
                raise DiscoveryError(self._missing(namespace, None, base, "no schemaLocation, and no schema of "
                                                                          "this WSDL declares that namespace"))

    def _referenced_namespaces(self) -> set[str]:
        used: set[str] = set()
        for document in self.found.documents.values():
            for node in document.root.iter(etree.Element):
                for attribute in _QNAME_ATTRIBUTES:
                    value = node.get(attribute)
                    if value and ":" in value:
                        ns = node.nsmap.get(value.split(":", 1)[0])
                        if ns:
                            used.add(ns)
        return used


__all__ = ["DocumentSet", "DocumentTransport", "SchemaDirs", "load", "root_key", "schema_dirs", "BUILT_IN"]
