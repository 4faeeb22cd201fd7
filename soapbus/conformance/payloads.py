"""Payloads for any noun a target offers, and the target's own schemas to judge answers by.

A suite asks for "an object of <noun> with this mRID" (`payload: {object: NOUN, vars: {mrid: ...}}`).
Where it comes from, first found first:

1. the user's file for that noun (`--payload NOUN=FILE`): `${...}` in it are evaluated like a
   template's; the first object's mRID is then set to the one asked for (so one file makes
   many distinct objects);
2. the shipped template `<NOUN>.xml`, when the target's schemas do not declare the noun in
   another namespace (another CIM edition) and accept it where they declare it;
3. a minimal valid instance generated from the schema the target's WSDL carries or imports
   (`profiles.samples`);
4. the same, from soapbus's own profile of the noun.

The target's schemas are read once per run from its WSDL locations (inline `wsdl:types` and
whatever they import); a WSDL whose schemas cannot be read leaves 3 out, with a note.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import requests
from lxml import etree

from .. import message as m
from ..message import MessageError
from ..profiles import NOUNS, xsd_dir
from ..profiles.samples import SampleError, root_candidates, sample
from ..profiles.schemaset import SchemaSet, SchemaSetError
from .errors import ConformanceError, TemplateError
from .suites import TEMPLATES
from .templating import Scope, render

UNKNOWN_ELEMENT = "notAnElementOfTheProfile"


@dataclass
class Payload:
    element: etree._Element
    origin: str  # for the report: where the document came from


@dataclass
class Payloads:
    files: dict[str, Path] = field(default_factory=dict)  # noun -> the user's payload file
    wsdl_locations: list[str] = field(default_factory=list)
    timeout: float = 30
    notes: list[str] = field(default_factory=list)
    schema_dirs: list[str] = field(default_factory=list)  # where an import that cannot be fetched is looked for
    session: requests.Session | None = None  # what http(s) schemas are fetched with (the run's HTTPS settings)

    def __post_init__(self):
        self._target: SchemaSet | None = None
        self._target_loaded = False
        self._own: dict[str, SchemaSet | None] = {}
        for noun, path in self.files.items():
            if not Path(path).is_file():
                raise ConformanceError(f"--payload {noun}={path}: no such file")

    # ------------------------------------------------------------ schemas

    def target_schemas(self) -> SchemaSet | None:
        """The schemas the target's WSDLs carry or import (None when they could not be read)."""
        if not self._target_loaded:
            self._target_loaded = True
            if self.wsdl_locations:
                try:
                    self._target = SchemaSet.load(self.wsdl_locations, self._fetch)
                    self.notes += [f"a schema the target's WSDL imports was not read: {p}"
                                   for p in self._target.problems]
                except SchemaSetError as exc:
                    self.notes.append(f"the target's WSDL schemas could not be read: {exc}")
        return self._target

    def own_schemas(self, noun: str) -> SchemaSet | None:
        """soapbus's profile of the noun, where it has one."""
        if noun not in self._own:
            known = NOUNS.get(noun)
            self._own[noun] = SchemaSet.load(str(xsd_dir() / known.profile_xsd)) if known else None
        return self._own[noun]

    def schemas_declaring(self, element_clark: str) -> SchemaSet | None:
        """The target's schema set when it declares this global element, else soapbus's for the noun."""
        target = self.target_schemas()
        if target is not None and target.component("element", element_clark) is not None:
            return target
        own = self.own_schemas(etree.QName(element_clark).localname)
        if own is not None and own.component("element", element_clark) is not None:
            return own
        return None

    def _fetch(self, location: str) -> bytes:
        try:
            if location.lower().startswith(("http://", "https://")):
                resp = (self.session or requests).get(location, timeout=self.timeout)
                resp.raise_for_status()
                return resp.content
            path = location[len("file://"):] if location.startswith("file://") else location
            return Path(path).read_bytes()
        except (OSError, requests.RequestException):
            name = location.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
            for folder in self.schema_dirs:
                candidate = Path(folder) / name
                if name and candidate.is_file():
                    return candidate.read_bytes()
            raise

    def problems_against_target(self, element: etree._Element) -> list[str]:
        """What the target's own schema says against a document it declares ([] when it fits, or when the
        target's WSDL declares no such document)."""
        target = self.target_schemas()
        if target is None or target.component("element", element.tag) is None:
            return []
        try:
            return target.validate(element)
        except SchemaSetError:
            return []  # schemas that do not compile judge nothing; the schema checks say so

    # ------------------------------------------------------------ documents

    def document(self, noun: str, mrid: str | None, scope: Scope, suite_path: str | None = None,
                 invalid: bool = False) -> Payload:
        """An object of `noun` with this mRID, from the first source that has one (see the module doc)."""
        found = (self._from_file(noun, mrid, scope) or self._from_template(noun, mrid, scope, suite_path)
                 or self._generated(noun, mrid))
        if invalid:
            found = Payload(_with_unknown_element(found.element), found.origin +
                            f", with an element <{UNKNOWN_ELEMENT}> its schema does not have")
        return found

    def _from_file(self, noun: str, mrid: str | None, scope: Scope) -> Payload | None:
        path = self.files.get(noun)
        if path is None:
            return None
        text = Path(path).read_text(encoding="utf-8")
        element = _parse(render(text, scope, xml=True), f"--payload {noun}={path}")
        if mrid is not None and "${mrid}" not in text:
            _set_first_mrid(element, mrid)
        return Payload(element, f"payload from {path}")

    def _from_template(self, noun: str, mrid: str | None, scope: Scope, suite_path: str | None) -> Payload | None:
        candidates = [TEMPLATES / f"{noun}.xml"]
        if suite_path:
            base = Path(suite_path).parent
            candidates = [base / f"{noun}.xml", base / "templates" / f"{noun}.xml", *candidates]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            return None
        try:
            text = render(path.read_text(encoding="utf-8"), scope, xml=True)
        except TemplateError:
            return None  # the template wants variables this suite does not define: generate instead
        element = _parse(text, f"template {path.name}")
        if mrid is not None:
            _set_first_mrid(element, mrid)
        target = self.target_schemas()
        if target is not None:
            declared = root_candidates(target, noun)
            if declared and element.tag not in declared:
                return None  # the target speaks another edition of the noun: generate from its schema
            if element.tag in declared and target.validate(element):
                return None
        return Payload(element, f"template {path.name}")

    def _generated(self, noun: str, mrid: str | None) -> Payload:
        problems = []
        for schemas, whose in ((self.target_schemas(), "the target's WSDL schema"),
                               (self.own_schemas(noun), "soapbus's profile")):
            if schemas is None or not root_candidates(schemas, noun):
                continue
            try:
                made = sample(schemas, noun, mrid=mrid)
            except (SampleError, SchemaSetError) as exc:
                problems.append(f"from {whose}: {exc}")
                continue
            return Payload(made.element, f"a minimal {noun} generated from {whose} ({made.root})")
        why = "; ".join(problems) if problems else (
            f"neither the target's WSDL nor soapbus declares a {noun} document")
        raise TemplateError(f"no payload for {noun}: {why}; give one with --payload {noun}=FILE")


def _parse(text: str, what: str) -> etree._Element:
    try:
        return m.parse_bytes(text.encode("utf-8"), what)
    except MessageError as exc:
        raise TemplateError(f"{what}: not XML: {exc.reason}") from None


def _set_first_mrid(root: etree._Element, mrid: str) -> None:
    for item in root:
        if not isinstance(item.tag, str):
            continue
        for child in item:
            if isinstance(child.tag, str) and etree.QName(child).localname == "mRID":
                child.text = mrid
                return
        return


def _with_unknown_element(root: etree._Element) -> etree._Element:
    """A copy with an element no CIM profile declares, first in the first object (or in the root)."""
    out = copy.deepcopy(root)
    ns = etree.QName(out).namespace
    holder = next((c for c in out if isinstance(c.tag, str)), out)
    unknown = etree.Element(f"{{{ns}}}{UNKNOWN_ELEMENT}" if ns else UNKNOWN_ELEMENT)
    unknown.text = "the conformance harness added this element to make the payload invalid"
    holder.insert(0, unknown)
    return out


def wsdl_location(target: str) -> str:
    """An endpoint URL becomes its `?wsdl`; WSDL URLs and files are taken as they are (as the client does)."""
    lowered = target.lower()
    if lowered.endswith(".wsdl") or "?wsdl" in lowered or not lowered.startswith(("http://", "https://")):
        return target
    return target + "?wsdl"


__all__ = ["Payloads", "Payload", "wsdl_location", "UNKNOWN_ELEMENT"]
