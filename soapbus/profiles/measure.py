"""How much smaller a compact profile makes a payload: the same objects, full against compact.

`soapbus profiles measure --full FULL.xsd --compact COMPACT.xsd [DOCUMENT ...]` and
`soapbus profiles measure --shipped --public-dir DIR`.

The full side is a document of the full profile: one given, or, where none is, the fullest the
full profile describes (every optional element and attribute present, every repeatable one
`repeat` times, to a bounded depth; values as the sample generator makes them). The compact side
is the same document as the compact profile carries it: every element and attribute the compact
profile does not declare at that place is left out, and so is what it only passes on unchecked
(content it types as open, `xs:any`): an exchange under the compact profile does not ask for it.
Both are measured as UTF-8 bytes without indentation, and gzip-compressed (the 61968 Compressed
payload), and the projection is validated against the compact profile.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .jsonmap import ProfileShapes, TypeShape, shapes_of
from .samples import SampleError, _Walker, root_element
from .schemaset import XS, SchemaSet, SchemaSetError

_XS = f"{{{XS}}}"
FULL_DEPTH = 12  # optional content is filled to this depth; below it, what is required only


class MeasureError(Exception):
    """A measurement that cannot be made (a profile that does not load, a document of another noun)."""


class _FullestWalker(_Walker):
    """The sample generator's walk with every optional element and attribute included."""

    def __init__(self, schemas: SchemaSet, repeat: int):
        super().__init__(schemas)
        self.repeat = repeat

    def particle(self, node, el, depth, force=False):
        if node.tag != f"{_XS}element" or depth >= FULL_DEPTH:
            return super().particle(node, el, depth, force)
        high = node.get("maxOccurs", "1")
        times = self.repeat if high == "unbounded" or int(high) > 1 else 1
        times = max(times, int(node.get("minOccurs", "1")))
        for _ in range(times):
            child = self.element(node, depth + 1, None)
            if child is not None:
                el.append(child)

    def attribute(self, decl, el):
        use = decl.get("use")
        if use == "prohibited":
            return
        decl.set("use", "required")  # the walk writes required attributes only; this walk writes them all
        try:
            super().attribute(decl, el)
        finally:
            if use is None:
                del decl.attrib["use"]
            else:
                decl.set("use", use)


def fullest_document(full_xsd: str | Path, noun: str, repeat: int = 2) -> etree._Element:
    """The fullest document of `noun` the full profile describes, valid against it."""
    try:
        schemas = SchemaSet.load(str(full_xsd))
        root = schemas.component("element", root_element(schemas, noun))
    except (SchemaSetError, SampleError) as exc:
        raise MeasureError(str(exc)) from None
    document = _FullestWalker(schemas, repeat).element(root, 0, None)
    problems = schemas.validate(document)
    if problems:
        raise MeasureError(f"the fullest {noun} document of {full_xsd} does not validate against it: {problems[0]}")
    return document


# ---------------------------------------------------------------- the compact side


def _kept(element: etree._Element, shape: TypeShape | None, shapes: ProfileShapes, namespace: str) -> None:
    """Remove from `element` what the compact type does not declare (in place)."""
    if shape is None:  # a simple type: text only
        for child in list(element):
            element.remove(child)
        element.attrib.clear()
        return
    for name in list(element.attrib):
        if name not in shape.attributes:
            del element.attrib[name]
    for child in list(element):
        if not isinstance(child.tag, str):
            element.remove(child)
            continue
        qname = etree.QName(child)
        declared = shape.children.get(qname.localname) if qname.namespace == namespace else None
        child_shape = shapes.shape(declared.type_name) if declared is not None else None
        if declared is None or (child_shape is not None and child_shape.open_content and not child_shape.children):
            element.remove(child)  # not in the compact profile, or only passed on unchecked there
        else:
            _kept(child, child_shape, shapes, namespace)


def project(document: etree._Element, compact_xsd: str | Path) -> etree._Element:
    """The document as the compact profile carries it (a copy; the namespace is the compact profile's)."""
    shapes = shapes_of(str(compact_xsd))
    name = etree.QName(document).localname
    root_type = shapes.root_type(name)
    if root_type is None:
        raise MeasureError(f"{compact_xsd} declares no document element {name!r}")
    copy = etree.fromstring(etree.tostring(document))
    if etree.QName(copy).namespace != shapes.namespace:
        raise MeasureError(f"the document is in {etree.QName(copy).namespace}, the compact profile in "
                           f"{shapes.namespace}: measure documents of the compact profile's edition")
    _kept(copy, shapes.shape(root_type), shapes, shapes.namespace)
    return copy


# ---------------------------------------------------------------- sizes


def _bytes(document: etree._Element) -> bytes:
    flat = etree.fromstring(etree.tostring(document))
    for el in flat.iter():
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        el.tail = None
    return etree.tostring(flat, encoding="utf-8")


@dataclass(frozen=True)
class Measurement:
    label: str  # what was measured: a file name, or "fullest <noun>"
    full_bytes: int
    compact_bytes: int
    full_gzip: int
    compact_gzip: int
    compact_valid: bool  # the projection validates against the compact profile

    @property
    def reduction(self) -> float:
        """The share of the full payload the compact profile saves, 0..1."""
        return 1 - self.compact_bytes / self.full_bytes if self.full_bytes else 0.0

    @property
    def gzip_reduction(self) -> float:
        return 1 - self.compact_gzip / self.full_gzip if self.full_gzip else 0.0


def measure(document: etree._Element, compact_xsd: str | Path, label: str) -> Measurement:
    full = _bytes(document)
    projected = project(document, compact_xsd)
    compact = _bytes(projected)
    schema = etree.XMLSchema(etree.parse(str(compact_xsd)))
    return Measurement(label, len(full), len(compact), len(gzip.compress(full, mtime=0)),
                       len(gzip.compress(compact, mtime=0)), schema.validate(projected))


__all__ = ["fullest_document", "project", "measure", "Measurement", "MeasureError"]
