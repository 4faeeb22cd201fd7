"""One mapping between a CIM profile document (XML) and JSON, driven by the profile's schema.

The REST binding answers `Accept: application/json` and takes JSON bodies with it; the mapping
(docs/rest.md, "JSON") is:

* the document is an object with one key, the document element's name (`"MeterReadings"`); its
  value carries the edition's namespace as `"@xmlns"`;
* an element is a key named by its local name (an element of another namespace, only possible in
  content a profile passes on unchecked, by `{namespace}local`);
* an element the profile lets repeat (maxOccurs > 1) is always an array, even of one, so that a
  client never meets the same key as an object in one answer and an array in the next; in content
  the profile does not describe, an element is an array where it occurs more than once;
* an element of a simple type is its text, as a string: decimals, dateTimes and booleans are
  passed as written, so nothing is lost or reformatted on the way through;
* an element of a complex type is an object (possibly empty); its attributes are `"@name"` keys
  and text beside them (simple content: `<mRID codingScheme="A01">10Y...</mRID>`) is `"#text"`.

From JSON back to XML the children are written in the order the profile's sequence declares
them, whatever the order of the keys, so a client need not know CIM's element order. What the
profile does not know (a misspelt key) is kept, in the place it came, and the document is then
refused by the profile's validation with its path, as any other invalid payload.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

XS = "{http://www.w3.org/2001/XMLSchema}"
_UNBOUNDED = 1 << 30


class JsonMappingError(ValueError):
    """JSON that is no profile document (wrong root, a value of the wrong JSON type); says where."""


@dataclass
class ElementShape:
    """What the schema says about one child element of a complex type."""
    name: str
    repeatable: bool
    type_name: str | None  # the named type, None for a built-in simple type or anonymous content


@dataclass
class TypeShape:
    """A complex type: its children in declaration order, whether it has text (simple content) or
    open content (xs:any), and its attributes."""
    children: dict[str, ElementShape] = field(default_factory=dict)
    simple_content: bool = False
    open_content: bool = False
    attributes: tuple[str, ...] = ()


class ProfileShapes:
    """The complex types of one profile schema (a single self-contained file, as soapbus's are)."""

    def __init__(self, schema: etree._Element):
        self.namespace = schema.get("targetNamespace")
        self._complex = {t.get("name"): t for t in schema.findall(f"{XS}complexType")}
        self._roots = {e.get("name"): _local_type(e.get("type")) for e in schema.findall(f"{XS}element")}
        self._shapes: dict[str, TypeShape] = {}

    def root_type(self, name: str) -> str | None:
        return self._roots.get(name)

    def shape(self, type_name: str | None) -> TypeShape | None:
        """The shape of a named complex type; None for a simple or unknown type."""
        if type_name is None or type_name not in self._complex:
            return None
        if type_name not in self._shapes:
            self._shapes[type_name] = self._build(self._complex[type_name])
        return self._shapes[type_name]

    def _build(self, complex_type: etree._Element) -> TypeShape:
        shape = TypeShape()
        simple = complex_type.find(f"{XS}simpleContent")
        if simple is not None:
            shape.simple_content = True
            shape.attributes = tuple(a.get("name") for a in simple.iter(f"{XS}attribute"))
            return shape
        extension = complex_type.find(f"{XS}complexContent/{XS}extension")
        if extension is not None:  # the base type's children come first
            base = self.shape(_local_type(extension.get("base")))
            if base is not None:
                shape.children.update(base.children)
                shape.open_content = base.open_content
            complex_type = extension
        self._particles(complex_type, shape, repeated=False)
        shape.attributes = tuple(a.get("name") for a in complex_type.findall(f"{XS}attribute"))
        return shape

    def _particles(self, parent: etree._Element, shape: TypeShape, repeated: bool) -> None:
        for particle in parent:
            if not isinstance(particle.tag, str):
                continue
            many = repeated or _max_occurs(particle) > 1
            if particle.tag == f"{XS}element":
                name = particle.get("name")
                known = shape.children.get(name)
                shape.children[name] = ElementShape(name, many or (known is not None and known.repeatable),
                                                    _local_type(particle.get("type")))
            elif particle.tag in (f"{XS}sequence", f"{XS}choice", f"{XS}all"):
                self._particles(particle, shape, many)
            elif particle.tag == f"{XS}any":
                shape.open_content = True


@functools.lru_cache(maxsize=None)
def shapes_of(xsd_path: str) -> ProfileShapes:
    """The shapes of a profile file, parsed once per process."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return ProfileShapes(etree.parse(xsd_path, parser).getroot())


def _local_type(qname: str | None) -> str | None:
    if not qname or qname.startswith("xs:"):
        return None
    return qname.rpartition(":")[2]


def _max_occurs(particle: etree._Element) -> int:
    value = particle.get("maxOccurs", "1")
    return _UNBOUNDED if value == "unbounded" else int(value)


# ---------------------------------------------------------------- XML -> JSON


def _key(element: etree._Element, namespace: str) -> str:
    qname = etree.QName(element)
    return qname.localname if qname.namespace == namespace else f"{{{qname.namespace or ''}}}{qname.localname}"


def _element_value(element: etree._Element, shape: TypeShape | None, shapes: ProfileShapes,
                   namespace: str, declared_simple: bool) -> Any:
    children = [c for c in element if isinstance(c.tag, str)]
    attributes = {f"@{etree.QName(name).localname}": value for name, value in element.attrib.items()
                  if etree.QName(name).namespace is None}
    if declared_simple or (shape is None and not children and not attributes):
        return element.text or ""
    value: dict[str, Any] = dict(attributes)
    text = (element.text or "").strip()
    if shape is not None and shape.simple_content or (shape is None and text):
        value["#text"] = element.text or ""
    counts: dict[str, int] = {}
    for child in children:
        counts[_key(child, namespace)] = counts.get(_key(child, namespace), 0) + 1
    for child in children:
        key = _key(child, namespace)
        declared = shape.children.get(key) if shape is not None else None
        child_shape = shapes.shape(declared.type_name) if declared is not None else None
        child_simple = declared is not None and child_shape is None
        converted = _element_value(child, child_shape, shapes, namespace, child_simple)
        if (declared.repeatable if declared is not None else counts[key] > 1):
            value.setdefault(key, []).append(converted)
        else:
            value[key] = converted
    return value


def to_json(document: etree._Element, xsd_path: Path) -> dict[str, Any]:
    """A profile document as JSON, by the mapping above."""
    shapes = shapes_of(str(xsd_path))
    namespace = etree.QName(document).namespace
    name = etree.QName(document).localname
    value = _element_value(document, shapes.shape(shapes.root_type(name)), shapes, namespace, False)
    return {name: {"@xmlns": namespace, **value}}


# ---------------------------------------------------------------- JSON -> XML


def _qualified(key: str, namespace: str) -> str:
    return key if key.startswith("{") else f"{{{namespace}}}{key}"


def _ordered_keys(value: dict[str, Any], shape: TypeShape | None) -> list[str]:
    """The element keys in the order the schema declares them; unknown ones after, as given."""
    keys = [k for k in value if not k.startswith("@") and k != "#text"]
    if shape is None:
        return keys
    declared = [name for name in shape.children if name in value]
    return declared + [k for k in keys if k not in shape.children]


def _set_text(element: etree._Element, text: str, path: str) -> None:
    try:
        element.text = text
    except ValueError:  # a control character XML cannot carry
        raise JsonMappingError(f"{path} holds a character XML cannot carry") from None


@dataclass
class _Budget:
    """What a JSON body may still build: elements left, and how deep it may nest."""
    elements: int
    depth: int

    def spend(self, depth: int, path: str) -> None:
        self.elements -= 1
        if self.elements < 0:
            raise JsonMappingError(f"the JSON body holds more elements than this server accepts in one "
                                   f"document (at {path})")
        if depth > self.depth:
            raise JsonMappingError(f"the JSON body nests deeper than {self.depth} levels (at {path})")


def _fill(element: etree._Element, value: Any, shape: TypeShape | None, shapes: ProfileShapes,
          namespace: str, path: str, budget: _Budget, depth: int = 1) -> None:
    if isinstance(value, bool):
        _set_text(element, "true" if value else "false", path)
        return
    if isinstance(value, (str, int, float)):
        _set_text(element, str(value), path)
        return
    if value is None:
        return
    if not isinstance(value, dict):
        raise JsonMappingError(f"{path} is a JSON {type(value).__name__}; an element is a string or an object")
    for key, attribute in value.items():
        if key.startswith("@") and key != "@xmlns":
            if not isinstance(attribute, (str, int, float)) or isinstance(attribute, bool):
                raise JsonMappingError(f"{path}/{key} must be a string")
            try:
                element.set(key[1:], str(attribute))
            except ValueError:
                raise JsonMappingError(f"{path}/{key}: {key[1:]!r} is no attribute name") from None
    if "#text" in value:
        _set_text(element, str(value["#text"]), f"{path}/#text")
    for key in _ordered_keys(value, shape):
        declared = shape.children.get(key) if shape is not None else None
        child_shape = shapes.shape(declared.type_name) if declared is not None else None
        items = value[key] if isinstance(value[key], list) else [value[key]]
        for index, item in enumerate(items, start=1):
            where = f"{path}/{key}" + (f"[{index}]" if len(items) > 1 else "")
            budget.spend(depth + 1, where)
            try:
                child = etree.SubElement(element, _qualified(key, namespace))
            except ValueError:
                raise JsonMappingError(f"{where}: {key!r} is no element name") from None
            _fill(child, item, child_shape, shapes, namespace, where, budget, depth + 1)


def from_json(data: Any, noun_name: str, default_namespace: str, xsd_for_namespace, max_elements: int = 100_000,
              max_depth: int = 100) -> etree._Element:
    """The profile document a JSON value stands for. `xsd_for_namespace(ns)` gives the profile file
    of the edition the document names in "@xmlns" (the noun's base edition when it names none),
    or None when the namespace is none of the noun's."""
    if not isinstance(data, dict) or list(data) != [noun_name]:
        found = ", ".join(data) if isinstance(data, dict) else f"a JSON {type(data).__name__}"
        raise JsonMappingError(f"the JSON body must be an object with the one key {noun_name!r}; found {found}")
    body = data[noun_name]
    if not isinstance(body, dict):
        raise JsonMappingError(f"/{noun_name} must be an object")
    namespace = body.get("@xmlns") or default_namespace
    xsd_path = xsd_for_namespace(namespace)
    if xsd_path is None:
        raise JsonMappingError(f"/{noun_name}/@xmlns {namespace!r} is no edition of {noun_name}")
    shapes = shapes_of(str(xsd_path))
    root = etree.Element(f"{{{namespace}}}{noun_name}", nsmap={None: namespace})
    _fill(root, body, shapes.shape(shapes.root_type(noun_name)), shapes, namespace, f"/{noun_name}",
          _Budget(max_elements, max_depth))
    return root


__all__ = ["to_json", "from_json", "JsonMappingError", "ProfileShapes", "shapes_of"]
