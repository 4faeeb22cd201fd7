"""Time-stamped values keyed as IEC 61968-9 identifies them: by what is measured, the kind of value and the time.

The public 61968-9 MeterReadings profile gives a MeterReading no mRID: a reading is the value
of one ReadingType, at one time, of one meter (or usage point). soapbus's store keeps such an
item as one object per value, keyed `reading|Meter/<meter>|<reading type>|<UTC time>` (interval
values `interval|...`), so that the same reading sent twice replaces the first rather than
adding a second. Each stored value keeps the item's context (Meter, UsagePoint, valuesInterval,
...) so that values read back regroup into the MeterReadings they came in. SCADA telemetry
(MeasurementValues) is keyed the same way by its measurement and time.

A `Series` describes one noun: how an item splits into values, which index entries make the
values findable by meter, usage point, measurement or reading type, how a stored item is cut
down to the values a query asks for, and how values regroup into items.
"""
from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from ..message import MessageError, parse_time

# Index entries live in the object store's name table under these name types, so that values are
# found by meter or reading type through its index; the prefix keeps them apart from CIM NameTypes.
INDEX_TYPE_PREFIX = "series."


def index_type(kind: str) -> str:
    return f"{INDEX_TYPE_PREFIX}{kind}"


class SeriesError(ValueError):
    """An item that cannot be keyed as a value: what is missing, and where."""

    def __init__(self, reason: str, path: str):
        super().__init__(reason)
        self.reason = reason
        self.path = path


@dataclass(frozen=True)
class SeriesValue:
    key: str
    item: etree._Element  # an item holding this one value, with the context of the item it came from
    index: tuple[tuple[str, str], ...]  # (name, name type) entries for the store's name index
    subject: tuple[str, str]  # (kind, mRID or name): ("Meter", "MTR-1"), what the value is of


@dataclass
class SeriesCriteria:
    """What a query asks of values: which subjects (by index kind), which value types, which times."""
    subjects: dict[str, set[str]] = field(default_factory=dict)  # e.g. {"Meter": {"MTR-1"}, "UsagePoint": {...}}
    types: set[str] = field(default_factory=set)  # reading types (ReadingType ref, mRID or name)
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # inclusive

    def in_window(self, moment: datetime | None) -> bool:
        if self.start is None and self.end is None:
            return True
        if moment is None:
            return False
        return (self.start is None or moment >= self.start) and (self.end is None or moment <= self.end)

    @property
    def narrows_values(self) -> bool:
        return bool(self.types) or self.start is not None or self.end is not None


# ---------------------------------------------------------------- small XML helpers


def local(el) -> str:
    tag = el.tag  # Clark notation; cheaper than an etree.QName per call (it runs per child of every reading)
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def children(el, name: str | None = None) -> list[etree._Element]:
    if name is None:
        return [c for c in el if isinstance(c.tag, str)]
    suffix = "}" + name  # a local name compared on the Clark tag itself: this runs per child of every reading
    return [c for c in el if isinstance(c.tag, str) and (c.tag.endswith(suffix) or c.tag == name)]


def child(el, name: str) -> etree._Element | None:
    suffix = "}" + name
    for c in el:
        tag = c.tag
        if isinstance(tag, str) and (tag.endswith(suffix) or tag == name):
            return c
    return None


def text_of(el, name: str) -> str | None:
    found = child(el, name) if el is not None else None
    value = (found.text or "").strip() if found is not None else ""
    return value or None


def fingerprint(el) -> tuple:
    """A comparable form of an element: same content, whatever prefixes or whitespace were used."""
    return (el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip(),
            tuple(fingerprint(c) for c in el if isinstance(c.tag, str)))


def insert_in_order(parent, new, order: tuple[str, ...]) -> None:
    """Put `new` after the last child that `order` (the profile's sequence) places before or with it."""
    rank = {name: position for position, name in enumerate(order)}
    mine = rank.get(local(new), len(order))
    before = [c for c in children(parent) if rank.get(local(c), len(order)) <= mine]
    if before:
        before[-1].addnext(new)
    else:
        parent.insert(0, new)


def utc_moment(text: str, where: str) -> datetime:
    """An xs:dateTime as an aware UTC datetime; a time without zone is taken as UTC."""
    try:
        moment = parse_time(text, where)
    except MessageError as exc:
        raise SeriesError(exc.reason, where) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def key_time(moment: datetime) -> str:
    """Fixed width, so that keys of one series sort by time."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reference(el) -> tuple[str | None, list[str]]:
    """(mRID, names) of a referenced object (Meter, UsagePoint, Analog, ReadingType ...)."""
    if el is None:
        return None, []
    names = [text_of(name, "name") for name in children(el, "Names")]
    return text_of(el, "mRID") or (el.get("ref") or "").strip() or None, [n for n in names if n]


@dataclass(frozen=True)
class Subject:
    """What values are of: a meter, a usage point, a measurement; by mRID, else by its first Name."""
    kind: str
    ref: str  # the mRID, or the name
    name_type: str | None = None  # set when `ref` is a name: its NameType ('' when it has none)

    @property
    def key(self) -> str:
        """`Meter/<mRID>`, or `Meter/name:<NameType>:<name>`."""
        return f"{self.kind}/{self.ref}" if self.name_type is None else f"{self.kind}/name:{self.name_type}:{self.ref}"


def subject_of(kind: str, el) -> Subject | None:
    mrid, _ = reference(el)
    if mrid:
        return Subject(kind, mrid)
    for name in children(el, "Names") if el is not None else ():
        value = text_of(name, "name")
        if value:
            return Subject(kind, value, text_of(child(name, "NameType"), "name") or "")
    return None


def index_entries(kind: str, el) -> list[tuple[str, str]]:
    mrid, names = reference(el)
    return [(value, index_type(kind)) for value in ([mrid] if mrid else []) + names]


class Series(ABC):
    """How one noun's items are keyed as values. Subclasses describe MeterReadings and MeasurementValues."""

    # Local names of Get<Noun> query elements naming subjects -> the index kind they select by.
    query_subjects: dict[str, str] = {}
    # Local names of query elements naming value types (a ReadingType).
    query_types: frozenset[str] = frozenset()
    # Local names of query elements the built-in store cannot resolve (groups: it keeps no membership).
    query_unresolvable: frozenset[str] = frozenset()

    @abstractmethod
    def split(self, item: etree._Element, where: str) -> list[SeriesValue]:
        """One value per reading of the item, each keyed; SeriesError when one cannot be keyed."""

    @abstractmethod
    def index(self, item: etree._Element) -> list[tuple[str, str]]:
        """Index entries (name, name type) that find this item by its subjects and value types."""

    @abstractmethod
    def trim(self, item: etree._Element, criteria: SeriesCriteria) -> etree._Element | None:
        """The item cut down to the values the criteria ask for; None when none is left."""

    def merge(self, items: list[etree._Element]) -> list[etree._Element]:
        """Single-value items back into as few items as the context allows (default: as they are)."""
        return items


# ---------------------------------------------------------------- MeterReadings (61968-9)

# The sequence of MeterReading's children in the profiles (ours adds mRID and Names).
_METER_READING_ORDER = ("mRID", "isCoincidentTrigger", "EndDeviceEvents", "IntervalBlocks", "Meter", "Names",
                        "Readings", "UsagePoint", "valuesInterval")
_VALUES = ("Readings", "IntervalBlocks")


def _reading_time(reading, where: str) -> datetime:
    """A reading's time: its timeStamp, else the end of its timePeriod."""
    stamp = text_of(reading, "timeStamp")
    if stamp:
        return utc_moment(stamp, f"{where}/timeStamp")
    end = text_of(child(reading, "timePeriod"), "end") if child(reading, "timePeriod") is not None else None
    if end:
        return utc_moment(end, f"{where}/timePeriod/end")
    raise SeriesError("has neither timeStamp nor timePeriod/end: a reading without mRID is identified by its "
                      "meter or usage point, reading type and time", where)


def _reading_time_or_none(reading) -> datetime | None:
    try:
        return _reading_time(reading, "")
    except SeriesError:
        return None


def _reading_type(el, where: str) -> str:
    rt = child(el, "ReadingType")
    ref = (rt.get("ref") or "").strip() if rt is not None else ""
    if not ref:
        raise SeriesError("has no ReadingType/@ref: a reading without mRID is identified by its meter or usage "
                          "point, reading type and time", f"{where}/ReadingType")
    return ref


class MeterReadingSeries(Series):
    query_subjects = {"EndDevice": "Meter", "EndDevices": "Meter", "Meter": "Meter", "UsagePoint": "UsagePoint",
                      "UsagePoints": "UsagePoint"}
    query_types = frozenset({"ReadingType"})
    query_unresolvable = frozenset({"EndDeviceGroup", "EndDeviceGroups", "UsagePointGroup", "UsagePointGroups"})

    def _subject(self, item, where: str) -> Subject:
        subject = subject_of("Meter", child(item, "Meter")) or subject_of("UsagePoint", child(item, "UsagePoint"))
        if subject is None:
            raise SeriesError("names neither a Meter nor a UsagePoint (by mRID or Names): a MeterReading without "
                              "mRID is identified by its meter or usage point, reading type and time", where)
        return subject

    @staticmethod
    def _shell(item) -> etree._Element:
        """The item without its values: the context every value of it keeps."""
        shell = copy.copy(item)
        for value in children(shell):
            if local(value) in _VALUES:
                shell.remove(value)
        return shell

    def split(self, item, where: str) -> list[SeriesValue]:
        subject = self._subject(item, where)
        shell = self._shell(item)
        index = tuple(self.index(shell))
        values: dict[str, SeriesValue] = {}  # the same reading twice in one item: the last one counts
        for position, reading in enumerate(children(item, "Readings"), start=1):
            path = f"{where}/Readings[{position}]"
            rt = _reading_type(reading, path)
            key = f"reading|{subject.key}|{rt}|{key_time(_reading_time(reading, path))}"
            one = copy.deepcopy(shell)
            insert_in_order(one, copy.deepcopy(reading), _METER_READING_ORDER)
            values[key] = SeriesValue(key, one, index + ((rt, index_type("ReadingType")),), subject)
        for block_position, block in enumerate(children(item, "IntervalBlocks"), start=1):
            block_path = f"{where}/IntervalBlocks[{block_position}]"
            rt = _reading_type(block, block_path)
            block_shell = copy.copy(block)
            for reading in children(block_shell, "IntervalReadings"):
                block_shell.remove(reading)
            for position, reading in enumerate(children(block, "IntervalReadings"), start=1):
                path = f"{block_path}/IntervalReadings[{position}]"
                key = f"interval|{subject.key}|{rt}|{key_time(_reading_time(reading, path))}"
                one_block = copy.deepcopy(block_shell)
                one_block.insert(0, copy.deepcopy(reading))
                one = copy.deepcopy(shell)
                insert_in_order(one, one_block, _METER_READING_ORDER)
                values[key] = SeriesValue(key, one, index + ((rt, index_type("ReadingType")),), subject)
        if not values:
            raise SeriesError("has no Readings or IntervalReadings: a MeterReading without mRID or Names is kept "
                              "as its readings", where)
        return list(values.values())

    def index(self, item) -> list[tuple[str, str]]:
        entries = index_entries("Meter", child(item, "Meter")) + index_entries("UsagePoint", child(item, "UsagePoint"))
        for reading in children(item, "Readings") + children(item, "IntervalBlocks"):
            rt = child(reading, "ReadingType")
            if rt is not None and (rt.get("ref") or "").strip():
                entries.append((rt.get("ref").strip(), index_type("ReadingType")))
        return list(dict.fromkeys(entries))

    def trim(self, item, criteria: SeriesCriteria) -> etree._Element | None:
        if not self._about_subjects(item, criteria):
            return None
        kept = copy.deepcopy(item)
        values_left = 0
        for reading in children(kept, "Readings"):
            if self._type_wanted(reading, criteria) and criteria.in_window(_reading_time_or_none(reading)):
                values_left += 1
            else:
                kept.remove(reading)
        for block in children(kept, "IntervalBlocks"):
            wanted = self._type_wanted(block, criteria)
            for reading in children(block, "IntervalReadings"):
                if wanted and criteria.in_window(_reading_time_or_none(reading)):
                    values_left += 1
                else:
                    block.remove(reading)
            if not children(block, "IntervalReadings") and criteria.narrows_values:
                kept.remove(block)
        if values_left == 0 and criteria.narrows_values:
            return None
        return kept

    @staticmethod
    def _type_wanted(el, criteria: SeriesCriteria) -> bool:
        if not criteria.types:
            return True
        rt = child(el, "ReadingType")
        return rt is not None and (rt.get("ref") or "").strip() in criteria.types

    @staticmethod
    def _about_subjects(item, criteria: SeriesCriteria) -> bool:
        if not criteria.subjects:
            return True
        for kind, el_name in (("Meter", "Meter"), ("UsagePoint", "UsagePoint")):
            mrid, names = reference(child(item, el_name))
            wanted = criteria.subjects.get(kind, set())
            if (mrid and mrid in wanted) or wanted.intersection(names):
                return True
        return False

    def merge(self, items: list[etree._Element]) -> list[etree._Element]:
        """Values of the same context (meter, usage point, interval, ...) back into one MeterReading each."""
        groups: dict[tuple, etree._Element] = {}
        blocks: dict[tuple, dict[tuple, list]] = {}
        for item in items:
            context = fingerprint(self._shell(item))
            if context not in groups:
                groups[context], blocks[context] = self._shell(item), {}
            merged = groups[context]
            for reading in children(item, "Readings"):
                insert_in_order(merged, copy.deepcopy(reading), _METER_READING_ORDER)
            for block in children(item, "IntervalBlocks"):
                self._merge_block(merged, blocks[context], block)
        return list(groups.values())

    @staticmethod
    def _merge_block(merged, blocks: dict[tuple, list], block) -> None:
        """Add a block's IntervalReadings to the merged block of its kind: blocks[kind] is [that
        block, its last IntervalReadings], so that each value is put after the last without reading
        the block's children again (a day of 15-minute values is 96 of them)."""
        shell = copy.copy(block)
        for reading in children(shell, "IntervalReadings"):
            shell.remove(reading)
        kind = fingerprint(shell)
        entry = blocks.get(kind)
        if entry is None:
            entry = blocks[kind] = [shell, None]
            insert_in_order(merged, shell, _METER_READING_ORDER)
        target, last = entry
        for reading in children(block, "IntervalReadings"):
            new = copy.deepcopy(reading)
            if last is not None:
                last.addnext(new)
            else:
                target.insert(0, new)
            last = new
        entry[1] = last


# ---------------------------------------------------------------- MeasurementValues (SCADA telemetry)

_MEASUREMENTS = {"AnalogValue": "Analog", "DiscreteValue": "Discrete", "AccumulatorValue": "Accumulator"}


class MeasurementValueSeries(Series):
    query_subjects = {"Analog": "Measurement", "Discrete": "Measurement", "Accumulator": "Measurement",
                      "Measurement": "Measurement", "Measurements": "Measurement"}

    @staticmethod
    def _measurement(item):
        for value_name, measurement_name in _MEASUREMENTS.items():
            value = child(item, value_name)
            if value is not None:
                return measurement_name, child(value, measurement_name)
        return None, None

    def split(self, item, where: str) -> list[SeriesValue]:
        kind, measurement = self._measurement(item)
        subject = subject_of(kind, measurement) if kind else None
        if subject is None:
            raise SeriesError("names no measurement (Analog, Discrete or Accumulator by mRID or Names): a "
                              "MeasurementValue without mRID is identified by its measurement and time", where)
        stamp = text_of(item, "timeStamp")
        if not stamp:
            raise SeriesError("has no timeStamp: a MeasurementValue without mRID is identified by its measurement "
                              "and time", f"{where}/timeStamp")
        key = f"value|{subject.key}|{key_time(utc_moment(stamp, f'{where}/timeStamp'))}"
        return [SeriesValue(key, copy.deepcopy(item), tuple(self.index(item)), subject)]

    def index(self, item) -> list[tuple[str, str]]:
        _, measurement = self._measurement(item)
        return index_entries("Measurement", measurement)

    def trim(self, item, criteria: SeriesCriteria) -> etree._Element | None:
        if criteria.subjects:
            mrid, names = reference(self._measurement(item)[1])
            wanted = criteria.subjects.get("Measurement", set())
            if not ((mrid and mrid in wanted) or wanted.intersection(names)):
                return None
        stamp = text_of(item, "timeStamp")
        try:
            moment = utc_moment(stamp, "timeStamp") if stamp else None
        except SeriesError:
            moment = None
        return copy.deepcopy(item) if criteria.in_window(moment) else None


METER_READINGS = MeterReadingSeries()
MEASUREMENT_VALUES = MeasurementValueSeries()

__all__ = ["Series", "SeriesValue", "Subject", "SeriesCriteria", "SeriesError", "METER_READINGS", "MEASUREMENT_VALUES",
           "INDEX_TYPE_PREFIX", "index_type", "fingerprint", "insert_in_order", "utc_moment"]
