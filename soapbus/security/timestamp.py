"""wsu:Timestamp: building it when signing, reading and judging it when verifying."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple
from datetime import datetime, timedelta, timezone

from lxml import etree

from . import faults, ids, ns
from .policy import Policy

_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


class Stamp(NamedTuple):
    created: datetime
    expires: datetime


def format_utc(moment: datetime) -> str:
    """xs:dateTime in UTC with milliseconds, the form WS-Security recommends."""
    # isoformat ends in "+00:00" for UTC, which becomes "Z"
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_utc(text: str | None, where: str) -> datetime:
    """An xs:dateTime that carries a zone; any digits of fraction (.NET sends seven)."""
    match = _DATETIME.match((text or "").strip())
    if not match:
        raise faults.invalid(f"{where} is not an xs:dateTime with a time zone: {text!r}")
    seconds, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{seconds}.{micro}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        raise faults.invalid(f"{where} is not a valid date and time: {text!r}") from None


def build(created: datetime, ttl: float, parent: etree._Element | None = None) -> etree._Element:
    """A wsu:Timestamp, made as the last child of `parent` when given (no copy between documents)."""
    nsmap = {"wsu": ns.WSU}
    stamp = etree.Element(ns.TIMESTAMP, nsmap=nsmap) if parent is None else etree.SubElement(parent, ns.TIMESTAMP,
                                                                                            nsmap=nsmap)
    ids.ensure_id(stamp, "TS")
    etree.SubElement(stamp, ns.CREATED).text = format_utc(created)
    etree.SubElement(stamp, ns.EXPIRES).text = format_utc(created + timedelta(seconds=ttl))
    return stamp


class Filled(NamedTuple):
    """What `fill` wrote into a Timestamp."""
    id: str
    created: str
    expires: str


def texts(created: datetime, ttl: float) -> Filled:
    """A fresh Id, and Created and Expires as format_utc writes them, for a Timestamp created at `created`."""
    start = _microseconds(created)
    return Filled(ids.new_id("TS"), _utc_text(start), _utc_text(start + _lifetime(ttl)))


def fill(stamp: etree._Element, created: datetime, ttl: float) -> Filled:
    """Give a Timestamp made by `build` (or a copy of one) a fresh Id, Created and Expires; return them."""
    filled = texts(created, ttl)
    stamp.set(ns.WSU_ID, filled.id)
    stamp[0].text = filled.created
    stamp[1].text = filled.expires
    return filled


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_SECONDS: dict[int, str] = {}  # whole seconds since the epoch -> "YYYY-MM-DDTHH:MM:SS", for the last few


def _microseconds(moment: datetime) -> int:
    """Microseconds since the epoch (a naive `moment` read as local time, as astimezone reads it)."""
    return (moment.astimezone(timezone.utc) - _EPOCH) // _MICROSECOND


@lru_cache(maxsize=8)
def _lifetime(ttl: float) -> int:
    """`ttl` seconds in whole microseconds, rounded as timedelta rounds them."""
    return timedelta(seconds=ttl) // _MICROSECOND


def _utc_text(microseconds: int) -> str:
    """format_utc of the moment `microseconds` after the epoch, with isoformat's work done once a second.

    Signing asks for the time of every message; isoformat (through a printf) costs more than
    all the rest of a Timestamp, and the date and time of day change only once a second.
    """
    seconds, fraction = divmod(microseconds, 1_000_000)
    whole = _SECONDS.get(seconds)
    if whole is None:
        if len(_SECONDS) > 16:
            _SECONDS.clear()
        whole = _SECONDS[seconds] = (_EPOCH + timedelta(seconds=seconds)).isoformat()[:19]
    return f"{whole}.{fraction // 1000:03d}Z"


def read(stamp: etree._Element) -> Stamp:
    """Created and Expires, each exactly once; other wsu children are refused."""
    values: dict[str, list[etree._Element]] = {ns.CREATED: [], ns.EXPIRES: []}
    for child in stamp.iterchildren(etree.Element):
        if child.tag in values:
            values[child.tag].append(child)
        elif etree.QName(child).namespace == ns.WSU:
            raise faults.invalid(f"wsu:Timestamp holds an unexpected {etree.QName(child).localname}")
    for tag_, name in ((ns.CREATED, "Created"), (ns.EXPIRES, "Expires")):
        if len(values[tag_]) != 1:
            raise faults.invalid(f"wsu:Timestamp must hold exactly one wsu:{name}; it holds {len(values[tag_])}")
    created = parse_utc(values[ns.CREATED][0].text, "wsu:Timestamp/wsu:Created")
    expires = parse_utc(values[ns.EXPIRES][0].text, "wsu:Timestamp/wsu:Expires")
    if expires <= created:
        raise faults.invalid(f"wsu:Expires {format_utc(expires)} is not after wsu:Created {format_utc(created)}")
    return Stamp(created, expires)


def check_fresh(stamp: Stamp, now: datetime, policy: Policy) -> None:
    ahead = (stamp.created - now).total_seconds()
    if ahead > policy.future_skew:
        raise faults.expired(
            f"wsu:Created {format_utc(stamp.created)} is {ahead:.0f} s ahead of our clock (at most "
            f"{policy.future_skew:.0f} s accepted): check the sender's clock")
    limit = deadline(stamp, policy)
    if now >= limit:
        raise faults.expired(
            f"the message expired at {format_utc(limit)} (Created {format_utc(stamp.created)}, "
            f"at most {policy.ttl:.0f} s accepted); it is now {format_utc(now)}: send a fresh one")


def deadline(stamp: Stamp, policy: Policy) -> datetime:
    """Until when this Timestamp can be accepted: also how long replay memory must keep it.

    A sender cannot widen our window by writing a far Expires: the lifetime is capped at ttl.
    """
    return min(stamp.expires, stamp.created + timedelta(seconds=policy.ttl))
