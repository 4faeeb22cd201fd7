"""Event subscriptions (publish/subscribe) and request routes.

A subscription says: send events of this noun, verb and context to this endpoint. A route says:
requests of this noun (and verb, and context) go to this endpoint. In both, a missing noun,
verb or context means "any"; it is stored as '' (the columns are NOT NULL) so that the unique
constraints treat two "any"s as equal, and handed back as None. Values are compared exactly as
given: the caller normalises case and synonyms (verbs are lower case in 61968-100; nouns are
case-sensitive). An event or request without a context matches only entries for any context.

A route lookup returns the most specific match: the exact verb and context, then the verb for
any context, then the context for any verb, then the noun alone. At most four rows can match a
(noun, verb, context), thanks to the unique constraint, and one query with ORDER BY picks the
first. Duplicates are refused through INSERT ... ON CONFLICT DO NOTHING, which leaves the
caller's transaction usable.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, bindparam, delete, or_, select

from .db import per_dialect
from .errors import DuplicateRoute, DuplicateSubscription
from .schema import DELIVERY_STYLES, require_aware, route as rt, subscription as sub

ANY = ""  # how "any noun/verb/context" is stored


@dataclass(frozen=True)
class Subscription:
    id: int
    endpoint: str
    noun: str | None  # None: any noun
    verb: str | None  # None: any event verb
    context: str | None  # None: any context
    signed: bool
    style: str  # 'generic': PublishEvent of the generic WSDL; 'typed': Receive<Noun> operations
    created_at: datetime


@dataclass(frozen=True)
class Route:
    id: int
    noun: str
    verb: str | None  # None: any verb
    context: str | None  # None: any context
    endpoint: str
    style: str  # 'generic': Request of the generic WSDL; 'typed': the per-noun operations
    signed: bool
    created_at: datetime


def _matches(column, name: str):
    return or_(column == bindparam(name), column == ANY)


_SUB_INSERT = per_dialect(lambda insert: insert(sub).on_conflict_do_nothing(
    index_elements=[sub.c.endpoint, sub.c.noun, sub.c.verb, sub.c.context]))
_SUB_LIST = select(sub).order_by(sub.c.id)
_SUB_DELETE = delete(sub).where(sub.c.id == bindparam("p_id"))
_SUB_MATCHING = (select(sub).where(_matches(sub.c.noun, "noun"), _matches(sub.c.verb, "verb"),
                                   _matches(sub.c.context, "context")).order_by(sub.c.id))

_ROUTE_INSERT = per_dialect(lambda insert: insert(rt).on_conflict_do_nothing(
    index_elements=[rt.c.noun, rt.c.verb, rt.c.context]))
_ROUTE_LIST = select(rt).order_by(rt.c.id)
_ROUTE_DELETE = delete(rt).where(rt.c.id == bindparam("p_id"))
# False sorts before True on both databases: a specific verb first, then a specific context.
_ROUTE_FOR = (select(rt).where(rt.c.noun == bindparam("noun"), _matches(rt.c.verb, "verb"),
                               _matches(rt.c.context, "context"))
              .order_by(rt.c.verb == ANY, rt.c.context == ANY).limit(1))


def add_subscription(conn: Connection, now: datetime, endpoint: str, noun: str | None, verb: str | None,
                     context: str | None, signed: bool, style: str) -> Subscription:
    _check_endpoint(endpoint, style)
    row = {"endpoint": endpoint, "noun": noun or ANY, "verb": verb or ANY, "context": context or ANY,
           "signed": bool(signed), "style": style, "created_at": now}
    result = conn.execute(_SUB_INSERT[conn.dialect.name], row)
    if result.rowcount != 1:
        raise DuplicateSubscription(endpoint, noun or None, verb or None, context or None)
    return _subscription({**row, "id": result.inserted_primary_key[0], "created_at": _utc(now)})


def list_subscriptions(conn: Connection) -> list[Subscription]:
    return [_subscription(row._mapping) for row in conn.execute(_SUB_LIST)]


def remove_subscription(conn: Connection, subscription_id: int) -> bool:
    return conn.execute(_SUB_DELETE, {"p_id": subscription_id}).rowcount > 0


def subscriptions_matching(conn: Connection, noun: str | None, verb: str | None,
                           context: str | None) -> list[Subscription]:
    """Every subscription an event of (noun, verb, context) goes to, oldest first."""
    params = {"noun": noun or ANY, "verb": verb or ANY, "context": context or ANY}
    return [_subscription(row._mapping) for row in conn.execute(_SUB_MATCHING, params)]


def add_route(conn: Connection, now: datetime, noun: str, endpoint: str, verb: str | None, context: str | None,
              signed: bool, style: str) -> Route:
    if not noun:
        raise ValueError("a route needs a noun")
    _check_endpoint(endpoint, style)
    row = {"noun": noun, "verb": verb or ANY, "context": context or ANY, "endpoint": endpoint,
           "style": style, "signed": bool(signed), "created_at": now}
    result = conn.execute(_ROUTE_INSERT[conn.dialect.name], row)
    if result.rowcount != 1:
        raise DuplicateRoute(noun, verb or None, context or None)
    return _route({**row, "id": result.inserted_primary_key[0], "created_at": _utc(now)})


def list_routes(conn: Connection) -> list[Route]:
    return [_route(row._mapping) for row in conn.execute(_ROUTE_LIST)]


def remove_route(conn: Connection, route_id: int) -> bool:
    return conn.execute(_ROUTE_DELETE, {"p_id": route_id}).rowcount > 0


def route_for(conn: Connection, noun: str, verb: str | None, context: str | None) -> Route | None:
    row = conn.execute(_ROUTE_FOR, {"noun": noun, "verb": verb or ANY, "context": context or ANY}).first()
    return None if row is None else _route(row._mapping)


def _check_endpoint(endpoint: str, style: str) -> None:
    if not endpoint:
        raise ValueError("an endpoint is needed")
    if style not in DELIVERY_STYLES:
        raise ValueError(f"style must be one of {DELIVERY_STYLES}, not {style!r}")


def _utc(now: datetime) -> datetime:
    return require_aware(now, "a stored datetime").astimezone(timezone.utc)


def _subscription(row) -> Subscription:
    return Subscription(id=int(row["id"]), endpoint=row["endpoint"], noun=row["noun"] or None,
                        verb=row["verb"] or None, context=row["context"] or None, signed=bool(row["signed"]),
                        style=row["style"], created_at=row["created_at"])


def _route(row) -> Route:
    return Route(id=int(row["id"]), noun=row["noun"], verb=row["verb"] or None, context=row["context"] or None,
                 endpoint=row["endpoint"], style=row["style"], signed=bool(row["signed"]),
                 created_at=row["created_at"])
