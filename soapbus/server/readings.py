"""The built-in store's time-stamped values: readings and telemetry kept as 61968-9 identifies them.

For nouns with a `series` (MeterReadings, MeasurementValues; see profiles/series.py), an item
without mRID or Names is not refused: it is split into its values, each stored under
`<kind>|<meter or usage point or measurement>|<reading type>|<UTC time>`. Storing a value whose
key is stored already replaces it (a reading sent twice is one reading), for create and change
alike, and for the created/changed events mirrored from another system. Items that carry an
mRID or Names stay whole objects keyed by them, as for every noun; both kinds carry index
entries in the object store's name table (name types `series.Meter`, `series.UsagePoint`,
`series.ReadingType`, `series.Measurement`) so that a get by meter, usage point or reading type
finds them through the index.

A get answers the values that match its criteria (server/query.py `series_criteria`), each
stored item cut down to the matching values, and regrouped: values that came in one
MeterReading (same meter, usage point and the rest of its context) go back into one.
"""
from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from ..message import ID, Error, Reply, codes
from ..profiles import Noun, SeriesCriteria, SeriesError, objects
from ..profiles.convert import convert
from ..profiles.series import index_type
from ..store import DuplicateObject
from .handlers import HandlerRequest
from .query import QueryRefused, query_element, series_criteria


@dataclass
class ValuesStored:
    ids: list[ID] = field(default_factory=list)  # one per item: what its values are of
    errors: list[Error] = field(default_factory=list)
    new: int = 0
    replaced: int = 0

    @property
    def summary(self) -> str:
        stored = self.new + self.replaced
        return (f"{stored} value{'s' if stored != 1 else ''} stored: {self.new} new, {self.replaced} replacing "
                f"the value stored before for the same subject, type and time")


def is_value_item(noun: Noun, item: etree._Element) -> bool:
    """An item kept as values: its noun has a series and it carries neither mRID nor Names."""
    return noun.series is not None and objects.identify(noun, item) is None


def index_names(noun: Noun, item: etree._Element) -> list[tuple[str, str]]:
    """Index entries for an item kept whole (with mRID or Names), so that series queries find it too."""
    return noun.series.index(item) if noun.series is not None else []


def _subject_id(noun: Noun, kind: str, ref: str) -> ID:
    # kind="other" with the subject's kind as idType: a Request/ID like it gets these values back.
    return ID(ref, kind="other", id_type=kind, object_type=noun.name)


def store_values(req: HandlerRequest, position: int, item: etree._Element, outcome: ValuesStored) -> None:
    """Split one item into its values and store each, replacing a value of the same key; counted in `outcome`."""
    noun = req.noun
    where = f"/{noun.name}/{noun.item}[{position}]"
    try:
        values = noun.series.split(item, where)
    except SeriesError as exc:
        outcome.errors.append(Error(code="5.8", level="FATAL", details=f"at {exc.path}",
                                    reason=f"{noun.item} #{position} at {exc.path} {exc.reason}"))
        return
    for value in values:
        xml = objects.serialize(value.item)
        try:
            req.uow.object_insert(noun.name, value.key, noun.item, xml, names=list(value.index))
            outcome.new += 1
        except DuplicateObject:
            row = req.uow.object_update(noun.name, value.key, xml, names=list(value.index))
            if row.status != "active":  # a value sent again after it was cancelled stands again
                req.uow.object_set_status(noun.name, value.key, "active")
            outcome.replaced += 1
    subject = values[0].subject  # a MeterReading is of one meter (or usage point): its values share it
    outcome.ids.append(_subject_id(noun, subject.kind, subject.ref))


def value_keys(req: HandlerRequest, items: list[tuple[int, etree._Element]]) -> tuple[list[str], list[Error]]:
    """The stored keys of the values that payload items without identity name (for delete, cancel, close)."""
    keys, errors = [], []
    for position, item in items:
        try:
            keys.extend(value.key for value in req.noun.series.split(item, f"/{req.noun.name}/{req.noun.item}[{position}]"))
        except SeriesError as exc:
            errors.append(Error(code="5.8", level="FATAL", details=f"at {exc.path}",
                                reason=f"{req.noun.item} #{position} at {exc.path} {exc.reason}"))
    return keys, errors


def rows_named(req: HandlerRequest, ident: ID) -> list:
    """Stored rows an ID names: the object of that key, else every value of that subject or type.

    `kind="name"` with an idType looks among names of that type (and the index entries of that
    kind: idType Meter finds the values of the meter of that name); any other ID among all names.
    """
    row = req.uow.object_get(req.noun.name, ident.value) if ident.kind != "name" else None
    if row is not None:
        return [row]
    if ident.id_type:
        found = (req.uow.object_find_by_name(req.noun.name, ident.value, ident.id_type)
                 + req.uow.object_find_by_name(req.noun.name, ident.value, index_type(ident.id_type)))
    else:
        found = req.uow.object_find_by_name(req.noun.name, ident.value, None)
    return list({row.key: row for row in found}.values())


# ---------------------------------------------------------------- get


def _candidates(req: HandlerRequest, criteria: SeriesCriteria) -> list:
    """Rows that may hold what the criteria ask for, found by index where the query names something."""
    find = req.uow.object_find_by_name
    if criteria.subjects:
        found = [row for kind, refs in criteria.subjects.items() for ref in sorted(refs)
                 for row in find(req.noun.name, ref, index_type(kind))]
    elif criteria.types:
        found = [row for rt in sorted(criteria.types) for row in find(req.noun.name, rt, index_type("ReadingType"))]
    else:
        found = req.uow.object_list(req.noun.name)
    return sorted({row.key: row for row in found}.values(), key=lambda row: row.key)


@dataclass
class Selection:
    items: list[etree._Element]
    errors: list[Error]
    failed: Reply | None = None  # the whole get refused


def select(req: HandlerRequest) -> Selection:
    """The items a get of values answers: matching values only, regrouped into as few items as they came in."""
    request = req.message.request
    try:
        criteria = series_criteria(req.noun, request)
    except QueryRefused as refused:
        return Selection([], [], Reply(result=codes.FAILED, errors=[refused.error]))
    # A Get<Noun> query overrides Request/ID, as for every noun.
    ids = list(request.ids) if request is not None and query_element(req.noun, request) is None else []
    errors: list[Error] = []
    if ids:
        rows = []
        for ident in ids:
            named = rows_named(req, ident)
            if not named:
                errors.append(Error(code=req.noun.unknown_code, level="FATAL", id=ident,
                                    reason=f"no {req.noun.item} of {ident.id_type or ident.kind or 'id'} "
                                           f"{ident.value!r} is known"))
            rows.extend(named)
        if not rows:
            return Selection([], errors, Reply(result=codes.FAILED, errors=errors))
        rows = sorted({row.key: row for row in rows}.values(), key=lambda row: row.key)
    else:
        rows = _candidates(req, criteria)
    return Selection(_regrouped(req.noun, rows, criteria), errors)


def _regrouped(noun: Noun, rows, criteria: SeriesCriteria) -> list[etree._Element]:
    whole, values = [], []
    for row in rows:
        trimmed = noun.series.trim(etree.fromstring(row.xml), criteria)
        if trimmed is not None:
            (values if objects.identify(noun, trimmed) is None else whole).append(trimmed)
    return whole + _merged(noun, values)


# ---------------------------------------------------------------- a get answered as a stream
#
# A get whose caller asked for a Compressed answer (it sent Compressed, or Request Option
# compress=true) is answered without ever holding the answer as trees: the stored rows read a
# batch at a time in key order (a subject's values are next to each other in it), each subject's
# values trimmed and merged as `select` does, each merged item serialised into one gzip stream.
# Memory then follows one subject's values and the compressed answer, whatever the answer's size.
# An answer that needs more than one document (objects of several editions) is made as a tree.


class _SeveralDocuments(Exception):
    """The answer holds items of more than one edition: answered by `select`, as documents."""


@dataclass
class CompressedAnswer:
    compressed: str  # base64 of the gzip stream of one profile document
    items: int


def compressed_selection(req: HandlerRequest, asked: str | None) -> CompressedAnswer | None:
    """A get's values as one Compressed document, made as a stream; None when `select` answers it
    instead (a get by Request/ID, a refused query, no match, or items of more than one edition)."""
    request = req.message.request
    if request is not None and request.ids and query_element(req.noun, request) is None:
        return None
    try:
        criteria = series_criteria(req.noun, request)
    except QueryRefused:
        return None
    document = _GzipDocument(req.noun.name)
    try:
        for item in _regrouped_stream(req.noun, _rows_in_key_order(req, criteria), criteria):
            if asked is not None:
                item = convert(req.noun, item, asked)
                if item is None:  # answered in its stored edition, in a document of its own
                    raise _SeveralDocuments()
            document.add(item)
    except _SeveralDocuments:
        return None
    return document.finish() if document.items else None


def _rows_in_key_order(req: HandlerRequest, criteria: SeriesCriteria):
    """As `_candidates`, read a batch at a time."""
    if criteria.subjects:
        names = [(ref, index_type(kind)) for kind, refs in criteria.subjects.items() for ref in sorted(refs)]
    elif criteria.types:
        names = [(rt, index_type("ReadingType")) for rt in sorted(criteria.types)]
    else:
        names = None
    return req.uow.object_iter(req.noun.name, names)


def _regrouped_stream(noun: Noun, rows: Iterable, criteria: SeriesCriteria) -> Iterator[etree._Element]:
    """As `_regrouped`, one subject at a time: rows in key order (`<kind>|<subject>|<type>|<time>`),
    so the values of one subject come together and are merged before the next subject's are read."""
    subject, values = None, []
    for row in rows:
        trimmed = noun.series.trim(etree.fromstring(row.xml), criteria)
        if trimmed is None:
            continue
        if objects.identify(noun, trimmed) is not None:  # kept whole: answered as it is
            yield trimmed
            continue
        of = row.key.rsplit("|", 2)[0]
        if of != subject:
            yield from _merged(noun, values)
            subject, values = of, []
        values.append(trimmed)
    yield from _merged(noun, values)


def _merged(noun: Noun, values: list[etree._Element]) -> list[etree._Element]:
    by_namespace: dict[str, list[etree._Element]] = {}
    for item in values:  # values of different editions never merge into one item
        by_namespace.setdefault(etree.QName(item).namespace, []).append(item)
    return [merged for group in by_namespace.values() for merged in noun.series.merge(group)]


class _GzipDocument:
    """One profile document written item by item into a gzip stream."""

    def __init__(self, root: str):
        self.root = root
        self.namespace: str | None = None
        self.items = 0
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self._out: list[bytes] = []

    def add(self, item: etree._Element) -> None:
        namespace = etree.QName(item).namespace
        if self.namespace is None:
            self.namespace = namespace
            self._out.append(self._gzip.compress(f'<{self.root} xmlns="{namespace}">'.encode()))
        elif namespace != self.namespace:
            raise _SeveralDocuments()
        self._out.append(self._gzip.compress(objects.serialize(item)))
        self.items += 1

    def finish(self) -> CompressedAnswer:
        self._out.append(self._gzip.compress(f"</{self.root}>".encode()))
        self._out.append(self._gzip.flush())
        return CompressedAnswer(base64.b64encode(b"".join(self._out)).decode("ascii"), self.items)


__all__ = ["ValuesStored", "is_value_item", "index_names", "store_values", "value_keys", "rows_named", "select",
           "compressed_selection", "CompressedAnswer",
           "Selection"]
