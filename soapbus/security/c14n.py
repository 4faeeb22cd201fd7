"""Canonical XML 1.0 and Exclusive XML Canonicalization 1.0 of a node set, written in Python.

soapbus canonicalises with libxml2 through lxml (see crypto.canonical), which gets two shapes
wrong when handed an element or a PrefixList as lxml does it:

* inclusive C14N of an element inside a document: lxml canonicalises a temporary document
  that shares the element's subtree, whose descendants still point at namespace declarations
  of the original tree; libxml2's inclusive C14N compares declarations by identity and wrote
  a spurious xmlns="" on descendants two levels down or more under a default namespace
  declared on the element or above it. It also leaves out the xml:* attributes the element
  inherits, which C14N 1.0 renders on it;
* exclusive C14N with an InclusiveNamespaces PrefixList: lxml passes libxml2 only the
  prefixes already interned in the thread's name dictionary, so "#default" is always lost,
  and so is a prefix declared only in a tree built in memory, not parsed in this thread.

crypto.canonical avoids both for libxml2 by canonicalising a freshly parsed copy, except for
"#default", which never reaches libxml2 through lxml: that shape is computed here.

The rules are the two W3C Recommendations' (https://www.w3.org/TR/xml-c14n,
https://www.w3.org/TR/xml-exc-c14n/) as libxml2, and so libxmlsec1, apply them to a subtree
node set: `tests/security/test_c14n_corpus.py` holds this module byte for byte to
python-xmlsec on generated documents, and to lxml where lxml is right.

The node set is an element's subtree (a same-document reference, ds:SignedInfo) or a whole
document (URI=""), comments included or not; nothing else is needed for XML-DSig here.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from lxml import etree

XML_NS = "http://www.w3.org/XML/1998/namespace"
_XML_PREFIX = "{" + XML_NS + "}"
# A namespace name must be an absolute URI here, as libxml2's C14N requires (relative ones are refused).
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*\Z")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"})
_COMMENT_OR_PI = str.maketrans({"\r": "&#xD;"})

Scope = dict  # prefix (None for the default namespace) -> namespace URI; "" for the default: none


class C14NError(ValueError):
    """The node set cannot be canonicalised (a relative namespace URI, for one)."""


def subtree(apex: etree._Element, *, exclusive: bool, with_comments: bool,
            prefixes: Sequence[str] = ()) -> bytes:
    """The canonical form of `apex` and its descendants, as a node set of the document they are in."""
    writer = _Writer(exclusive, with_comments, prefixes)
    parent = apex.getparent()
    inherited = {} if exclusive else inherited_xml_attributes(apex)  # exclusive C14N inherits none
    writer.element_tree(apex, _in_scope(parent) if parent is not None else {}, inherited)
    return writer.result()


def document(tree: etree._ElementTree, *, exclusive: bool, with_comments: bool,
             prefixes: Sequence[str] = ()) -> bytes:
    """The canonical form of a whole document: the root element, and the comments and PIs around it."""
    writer = _Writer(exclusive, with_comments, prefixes)
    root = tree.getroot()
    for node in reversed(list(root.itersiblings(preceding=True))):
        if writer.misc(node):
            writer.out.append("\n")
    writer.element_tree(root, {}, {})
    for node in root.itersiblings():
        if writer.keeps(node):
            writer.out.append("\n")
            writer.misc(node)
    return writer.result()


def _in_scope(element: etree._Element) -> Scope:
    scope = dict(element.nsmap)
    scope.pop("xml", None)
    return scope


def inherited_xml_attributes(apex: etree._Element) -> dict[str, str]:
    """xml:* attributes of the ancestors that `apex` does not carry itself, the nearest of each."""
    inherited: dict[str, str] = {}
    for ancestor in apex.iterancestors():
        for name, value in ancestor.items():
            if name.startswith(_XML_PREFIX) and name not in inherited and name not in apex.attrib:
                inherited[name] = value
    return inherited


class _Writer:
    def __init__(self, exclusive: bool, with_comments: bool, prefixes: Sequence[str]):
        self.exclusive = exclusive
        self.with_comments = with_comments
        # "#default" (or an empty item) names the default namespace, kept here as None
        self.listed = tuple(dict.fromkeys(None if p in ("#default", "") else p for p in prefixes if p != "xml"))
        self.out: list[str] = []

    def result(self) -> bytes:
        return "".join(self.out).encode("utf-8")

    # ------------------------------------------------------------ comments and PIs

    def keeps(self, node) -> bool:
        if isinstance(node, etree._ProcessingInstruction):
            return True
        return self.with_comments and isinstance(node, etree._Comment)

    def misc(self, node) -> bool:
        """Write a comment or processing instruction; False when the node set leaves it out."""
        if isinstance(node, etree._ProcessingInstruction):
            data = node.text or ""
            self.out.append(f"<?{node.target}{' ' + data.translate(_COMMENT_OR_PI) if data else ''}?>")
            return True
        if isinstance(node, etree._Comment) and self.with_comments:
            self.out.append(f"<!--{(node.text or '').translate(_COMMENT_OR_PI)}-->")
            return True
        return False

    # ------------------------------------------------------------ elements

    def element_tree(self, apex: etree._Element, outer: Scope, inherited: dict[str, str]) -> None:
        """Write `apex` and its subtree; `outer` is the scope around it, `inherited` xml:* attributes for it."""
        out = self.out
        scopes: list[Scope] = []
        # What the output ancestors rendered (exclusive) or had in scope (inclusive): prefix -> URI.
        rendered: list[Scope] = [{}]
        own: list[tuple[str, str]] = []
        for event, item in etree.iterwalk(apex, events=("start-ns", "start", "end", "comment", "pi")):
            if event == "start-ns":
                own.append(item)
                continue
            if event == "start":
                scope = dict(scopes[-1] if scopes else outer)
                for prefix, uri in own:
                    if prefix != "xml":
                        scope[prefix or None] = uri
                _refuse_relative(scope if not scopes else dict(own))
                own = []
                scopes.append(scope)
                declarations, now_rendered = self.namespaces(item, scope, rendered[-1], first=len(scopes) == 1)
                rendered.append(now_rendered)
                attributes = self.attributes(item, scope, inherited if len(scopes) == 1 else None)
                out.append(f"<{_qualified(item)}{declarations}{attributes}>")
                if item.text:
                    out.append(item.text.translate(_TEXT))
            elif event == "end":
                out.append(f"</{_qualified(item)}>")
                scopes.pop()
                rendered.pop()
                if item is not apex and item.tail:
                    out.append(item.tail.translate(_TEXT))
            else:
                self.misc(item)
                if item.tail:
                    out.append(item.tail.translate(_TEXT))

    def namespaces(self, element: etree._Element, scope: Scope, before: Scope, first: bool) -> tuple[str, Scope]:
        """The namespace declarations to write on `element`, and what is rendered for its children."""
        if self.exclusive:
            chosen, after = self._exclusive(element, scope, before)
        else:
            chosen, after = self._inclusive(scope, before, first)
        # Namespace names are written as they are, as libxml2 writes them (they are absolute URIs).
        text = "".join(f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"'
                       for prefix, uri in sorted(chosen.items(), key=lambda item: item[0] or ""))
        return text, after

    @staticmethod
    def _inclusive(scope: Scope, parent: Scope, first: bool) -> tuple[Scope, Scope]:
        # Every namespace in scope whose binding differs from the parent's, xmlns="" only to
        # undo a default the parent had; on the apex, everything in scope but an empty default.
        chosen = {prefix: uri for prefix, uri in scope.items()
                  if parent.get(prefix, "" if prefix is None else None) != uri}
        if first and chosen.get(None) == "":
            del chosen[None]
        return chosen, scope

    def _exclusive(self, element: etree._Element, scope: Scope, before: Scope) -> tuple[Scope, Scope]:
        # A namespace is rendered where it is visibly utilized (by the element's name or an
        # attribute's) or listed in the PrefixList, unless the output ancestors already
        # rendered the same binding; xmlns="" only to undo a rendered default.
        chosen: Scope = {}
        after = dict(before)

        def utilize(prefix: str | None, uri: str) -> None:
            previous = after.get(prefix)
            if (previous or "") != uri if prefix is None else previous != uri:
                chosen[prefix] = uri
            after[prefix] = uri

        for prefix in self.listed:
            uri = scope.get(prefix)
            if uri is not None:
                utilize(prefix, uri)
        namespace = etree.QName(element).namespace
        utilize(element.prefix if namespace else None, namespace or "")
        for name in element.keys():
            if name[0] == "{" and not name.startswith(_XML_PREFIX):
                uri = etree.QName(name).namespace
                utilize(_attribute_prefix(element, scope, name, uri), uri)
        return chosen, after

    def attributes(self, element: etree._Element, scope: Scope, inherited: dict[str, str] | None) -> str:
        items = list(element.items())
        if inherited:
            items.extend(inherited.items())
        if not items:
            return ""
        ordered = []
        for name, value in items:
            if name[0] == "{":
                qname = etree.QName(name)
                uri, local = qname.namespace, qname.localname
                written = (f"xml:{local}" if uri == XML_NS
                           else f"{_attribute_prefix(element, scope, name, uri)}:{local}")
            else:
                uri, local, written = "", name, name
            ordered.append(((uri, local), written, value))
        ordered.sort(key=lambda entry: entry[0])
        return "".join(f' {written}="{value.translate(_ATTRIBUTE)}"' for _, written, value in ordered)


def _qualified(element: etree._Element) -> str:
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _attribute_prefix(element: etree._Element, scope: Scope, name: str, uri: str) -> str:
    """The prefix a namespaced attribute is written with (lxml keeps it, but shows only the namespace)."""
    candidates = [prefix for prefix, bound in scope.items() if prefix and bound == uri]
    if len(candidates) == 1:
        return candidates[0]
    local = etree.QName(name).localname
    written = element.xpath("name(@*[local-name()=$local and namespace-uri()=$uri])", local=local, uri=uri)
    return written.partition(":")[0]


def _refuse_relative(declarations: dict | Iterable) -> None:
    for uri in (declarations.values() if isinstance(declarations, dict) else declarations):
        if uri and not _ABSOLUTE_URI.match(uri):
            raise C14NError(f"namespace URI {uri!r} is not an absolute URI, which C14N requires")
