"""What a profile document's elements are, for reading it as plain data: which may repeat, and which
built-in type each simple value has. The client SDK's `Result.data` reads answers with it, so that an
element the profile lets repeat is a list even when one came, and a number is a number.

Read from the noun's schema (the edition its namespace names) with the same SchemaSet as the sample
generator; a shape is built lazily, element by element, as documents are read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from .schemaset import XS, SchemaSet, SchemaSetError, resolve_qname

_XS = f"{{{XS}}}"
_PARTICLES = (f"{_XS}sequence", f"{_XS}choice", f"{_XS}all")


@dataclass
class Shape:
    """One element of a profile: whether it may occur more than once where it stands, its built-in
    simple type (local name, e.g. decimal) when it holds a value, and its children's shapes."""

    repeated: bool = False
    builtin: str | None = None
    _schemas: SchemaSet | None = field(default=None, repr=False)
    _type: etree._Element | None = field(default=None, repr=False)
    _children: dict | None = field(default=None, repr=False)

    def child(self, local_name: str) -> "Shape | None":
        if self._children is None:
            self._children = _children(self._schemas, self._type) if self._type is not None else {}
        return self._children.get(local_name)


def shape_of(document: etree._Element) -> Shape | None:
    """The shape of a profile document soapbus has the schema of (by its root's name and namespace),
    else None."""
    from . import NOUNS, xsd_dir

    qname = etree.QName(document)
    noun = NOUNS.get(qname.localname)
    edition = noun.edition_for(qname.namespace) if noun is not None else None
    if edition is None:
        return None
    return _root_shape(str(xsd_dir() / edition.profile_xsd), qname.localname)


@lru_cache(maxsize=64)
def _root_shape(xsd: str, noun: str) -> Shape | None:
    from .samples import root_candidates

    try:
        schemas = SchemaSet.load(xsd)
    except SchemaSetError:
        return None
    found = root_candidates(schemas, noun)
    if not found:
        return None
    return _element_shape(schemas, schemas.component("element", found[0]), repeated=False)


def _element_shape(schemas: SchemaSet, decl: etree._Element, repeated: bool) -> Shape:
    if decl.get("ref"):
        target = schemas.component("element", resolve_qname(decl, decl.get("ref")))
        return _element_shape(schemas, target, repeated) if target is not None else Shape(repeated)
    inline = next((c for c in decl if c.tag in (f"{_XS}complexType", f"{_XS}simpleType")), None)
    if inline is not None:
        return _typed(schemas, inline, repeated)
    if not decl.get("type"):
        return Shape(repeated)
    clark = resolve_qname(decl, decl.get("type"))
    if clark.startswith(_XS):
        return Shape(repeated, etree.QName(clark).localname)
    definition = schemas.type_definition(clark)
    return _typed(schemas, definition, repeated) if definition is not None else Shape(repeated)


def _typed(schemas: SchemaSet, definition: etree._Element, repeated: bool) -> Shape:
    if definition.tag == f"{_XS}simpleType":
        return Shape(repeated, _builtin_of(schemas, definition))
    content = definition.find(f"{_XS}simpleContent")
    builtin = _base_builtin(schemas, content) if content is not None else None
    return Shape(repeated, builtin, schemas, definition)


def _builtin_of(schemas: SchemaSet, simple: etree._Element, depth: int = 0) -> str | None:
    """The built-in type at the bottom of a simple type's restriction chain (lists and unions: None)."""
    restriction = simple.find(f"{_XS}restriction")
    if restriction is None or depth > 20:
        return None
    if restriction.get("base"):
        clark = resolve_qname(restriction, restriction.get("base"))
        if clark.startswith(_XS):
            return etree.QName(clark).localname
        base = schemas.type_definition(clark)
        return _builtin_of(schemas, base, depth + 1) if base is not None and base.tag == f"{_XS}simpleType" else None
    inner = restriction.find(f"{_XS}simpleType")
    return _builtin_of(schemas, inner, depth + 1) if inner is not None else None


def _base_builtin(schemas: SchemaSet, content: etree._Element) -> str | None:
    derivation = content.find(f"{_XS}extension")
    derivation = derivation if derivation is not None else content.find(f"{_XS}restriction")
    if derivation is None or not derivation.get("base"):
        return None
    clark = resolve_qname(derivation, derivation.get("base"))
    if clark.startswith(_XS):
        return etree.QName(clark).localname
    base = schemas.type_definition(clark)
    if base is None:
        return None
    return _builtin_of(schemas, base) if base.tag == f"{_XS}simpleType" else _typed(schemas, base, False).builtin


def _children(schemas: SchemaSet, ctype: etree._Element, depth: int = 0) -> dict[str, Shape]:
    """Child element shapes of a complex type by local name: its particles, groups and base types."""
    out: dict[str, Shape] = {}
    if depth > 20:
        return out
    for node in ctype:
        if node.tag in _PARTICLES or node.tag == f"{_XS}group":
            _particle(schemas, node, out, _many(node), depth)
        elif node.tag == f"{_XS}complexContent":
            derivation = next((c for c in node if c.tag in (f"{_XS}extension", f"{_XS}restriction")), None)
            if derivation is None:
                continue
            base = schemas.type_definition(resolve_qname(derivation, derivation.get("base"))) \
                if derivation.get("base") else None
            if base is not None and derivation.tag == f"{_XS}extension" and base.tag == f"{_XS}complexType":
                out.update(_children(schemas, base, depth + 1))
            out.update(_children(schemas, derivation, depth + 1))
    return out


def _particle(schemas: SchemaSet, node: etree._Element, out: dict, many: bool, depth: int) -> None:
    if node.tag == f"{_XS}group":
        if node.get("ref"):
            group = schemas.component("group", resolve_qname(node, node.get("ref")))
            if group is not None:
                for inner in group:
                    if inner.tag in _PARTICLES:
                        _particle(schemas, inner, out, many or _many(node) or _many(inner), depth + 1)
        return
    for child in node:
        if child.tag == f"{_XS}element":
            name = child.get("name") or etree.QName(resolve_qname(child, child.get("ref", ""))).localname
            out.setdefault(name, _element_shape(schemas, child, many or _many(child)))
        elif child.tag in _PARTICLES or child.tag == f"{_XS}group":
            _particle(schemas, child, out, many or _many(child), depth + 1)


def _many(node: etree._Element) -> bool:
    top = node.get("maxOccurs", "1")
    return top == "unbounded" or (top.isdigit() and int(top) > 1)


__all__ = ["Shape", "shape_of"]
