"""What a target's XML schemas say about its 61968 messages, read from the schema documents.

zeep turns schemas into serialisers and drops what discovery needs (enumerations, and which
namespace a locally declared element is in, element by element), so the schema documents
that documents.py loaded are read here directly: global elements and types by qualified
name, the children a complex type allows (sequences, choices, groups, extensions, refs,
elementFormDefault and form), and the enumeration of a simple type.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ..message.shapes import PARTS, STRUCTURE

XSD = "http://www.w3.org/2001/XMLSchema"
_PARTICLES = {f"{{{XSD}}}{name}" for name in ("sequence", "choice", "all")}
_MAX_DEPTH = 12  # group refs and extension chains deeper than this are not followed (cycles)


@dataclass(frozen=True)
class Component:
    """A schema node with the facts of the schema it sits in."""

    node: etree._Element
    tns: str | None
    qualified: bool  # elementFormDefault="qualified" in its schema


@dataclass(frozen=True)
class Child:
    """An element a complex type allows: its qualified name and where its type comes from."""

    name: str  # Clark name ("{ns}local", or "local" when unqualified)
    declaration: Component  # the xs:element node (the global one for a ref)

    @property
    def local(self) -> str:
        return etree.QName(self.name).localname

    @property
    def namespace(self) -> str:
        return etree.QName(self.name).namespace or ""


def resolve_qname(node: etree._Element, value: str) -> str:
    """The Clark name for a QName-valued attribute as written on `node`."""
    prefix, _, local = value.strip().rpartition(":")
    ns = node.nsmap.get(prefix or None)
    return f"{{{ns}}}{local}" if ns else local


class SchemaIndex:
    """Every global element, type and group of the loaded schemas, by Clark name."""

    def __init__(self, schemas: list[tuple[etree._Element, str | None]]):
        self.elements: dict[str, Component] = {}
        self.types: dict[str, Component] = {}
        self.groups: dict[str, Component] = {}
        for schema, tns in schemas:
            self._add(schema, tns)

    def _add(self, schema: etree._Element, tns: str | None) -> None:
        qualified = schema.get("elementFormDefault") == "qualified"
        tables = {"element": self.elements, "complexType": self.types, "simpleType": self.types,
                  "group": self.groups}
        for node in schema:
            if not isinstance(node.tag, str) or etree.QName(node).namespace != XSD:
                continue
            table = tables.get(etree.QName(node).localname)
            name = node.get("name")
            if table is not None and name:
                table.setdefault(f"{{{tns}}}{name}" if tns else name, Component(node, tns, qualified))

    # ------------------------------------------------------------ complex types

    def element_type(self, declaration: Component) -> Component | None:
        """The (named or anonymous) type of an element declaration; None for anyType or unknown."""
        node = declaration.node
        for child in node:
            if child.tag in (f"{{{XSD}}}complexType", f"{{{XSD}}}simpleType"):
                return Component(child, declaration.tns, declaration.qualified)
        type_name = node.get("type")
        return self.types.get(resolve_qname(node, type_name)) if type_name else None

    def children(self, type_component: Component | None) -> list[Child]:
        """The elements a complex type allows, in order (base type's first for an extension)."""
        if type_component is None:
            return []
        found: list[Child] = []
        self._collect(type_component.node, type_component, found, 0)
        return found

    def _collect(self, node: etree._Element, context: Component, found: list[Child], depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        for child in node:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag
            if tag == f"{{{XSD}}}element":
                found.append(self._child(child, context))
            elif tag in _PARTICLES or tag in (f"{{{XSD}}}complexContent",):
                self._collect(child, context, found, depth + 1)
            elif tag == f"{{{XSD}}}extension" and node.tag == f"{{{XSD}}}complexContent":
                base = self.types.get(resolve_qname(child, child.get("base", "")))
                if base is not None:
                    self._collect(base.node, base, found, depth + 1)
                self._collect(child, context, found, depth + 1)
            elif tag == f"{{{XSD}}}restriction" and node.tag == f"{{{XSD}}}complexContent":
                self._collect(child, context, found, depth + 1)
            elif tag == f"{{{XSD}}}group" and child.get("ref"):
                group = self.groups.get(resolve_qname(child, child.get("ref")))
                if group is not None:
                    self._collect(group.node, group, found, depth + 1)

    def _child(self, node: etree._Element, context: Component) -> Child:
        ref = node.get("ref")
        if ref:
            name = resolve_qname(node, ref)
            return Child(name, self.elements.get(name, Component(node, context.tns, True)))
        form = node.get("form")
        qualified = form == "qualified" if form else context.qualified
        local = node.get("name", "")
        name = f"{{{context.tns}}}{local}" if qualified and context.tns else local
        return Child(name, Component(node, context.tns, context.qualified))

    def child_type(self, child: Child) -> Component | None:
        return self.element_type(child.declaration)

    # ------------------------------------------------------------ simple types

    def enumeration(self, child: Child) -> tuple[str, ...]:
        """The values an element's simple type enumerates, following restriction bases; () if free."""
        return self._enumeration(self.child_type(child), 0)

    def _enumeration(self, simple: Component | None, depth: int) -> tuple[str, ...]:
        if simple is None or depth > _MAX_DEPTH or simple.node.tag != f"{{{XSD}}}simpleType":
            return ()
        restriction = simple.node.find(f"{{{XSD}}}restriction")
        if restriction is None:
            return ()
        values = tuple(e.get("value", "") for e in restriction.findall(f"{{{XSD}}}enumeration"))
        if values:
            return values
        inline = restriction.find(f"{{{XSD}}}simpleType")
        if inline is not None:
            return self._enumeration(Component(inline, simple.tns, simple.qualified), depth + 1)
        base = restriction.get("base")
        return self._enumeration(self.types.get(resolve_qname(restriction, base)), depth + 1) if base else ()


@dataclass(frozen=True)
class MessageLayout:
    """Where a message sits in an operation's input and how its schema spells the envelope."""

    inner: str | None  # Clark name of the message element inside the Body's child, when wrapped
    namespaces: tuple[tuple[str, str], ...]  # ("Header", ns), ("Header/Verb", ns) ...
    verbs: tuple[str, ...]
    nouns: tuple[str, ...]
    payload_roots: tuple[str, ...]  # local names of the profile documents the Payload allows
    query_roots: tuple[str, ...]  # local names of query elements the Request allows (Get<Noun>)


def layout(index: SchemaIndex, type_component: Component | None) -> MessageLayout | None:
    """The message layout of a Body child's type: bare (it holds Header ...) or wrapped one level."""
    children = index.children(type_component)
    if any(c.local in PARTS for c in children):
        return _layout_of(index, None, children)
    if len(children) == 1:
        inner = children[0]
        inner_children = index.children(index.child_type(inner))
        if any(c.local in PARTS for c in inner_children):
            return _layout_of(index, inner.name, inner_children)
    return None


def _layout_of(index: SchemaIndex, inner: str | None, parts: list[Child]) -> MessageLayout:
    namespaces: list[tuple[str, str]] = []
    verbs: tuple[str, ...] = ()
    nouns: tuple[str, ...] = ()
    payload_roots: list[str] = []
    query_roots: list[str] = []
    for part in parts:
        if part.local not in PARTS:
            continue
        namespaces.append((part.local, part.namespace))
        fields = index.children(index.child_type(part))
        _walk(index, part.local, fields, namespaces, 0)
        for field in fields:
            if part.local == "Header" and field.local == "Verb":
                verbs = index.enumeration(field)
            elif part.local == "Header" and field.local == "Noun":
                nouns = index.enumeration(field)
            elif part.local == "Payload" and field.local not in STRUCTURE["Payload"]:
                payload_roots.append(field.local)
            elif part.local == "Request" and field.local not in STRUCTURE["Request"]:
                query_roots.append(field.local)
    return MessageLayout(inner, tuple(namespaces), verbs, nouns, tuple(payload_roots), tuple(query_roots))


def _walk(index: SchemaIndex, path: str, fields: list[Child], out: list[tuple[str, str]], depth: int) -> None:
    """Record the namespace of every envelope element below `path`, as the schema declares it."""
    allowed = STRUCTURE.get(path)
    if allowed is None or depth > 4:
        return
    for field in fields:
        if field.local not in allowed:
            continue
        field_path = f"{path}/{field.local}"
        if any(known == field_path for known, _ in out):
            continue
        out.append((field_path, field.namespace))
        if field_path in STRUCTURE:
            _walk(index, field_path, index.children(index.child_type(field)), out, depth + 1)


__all__ = ["SchemaIndex", "Component", "Child", "MessageLayout", "layout", "resolve_qname", "XSD"]
