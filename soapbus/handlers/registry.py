"""Registration of handlers, middleware and a DMS's own tables, checked when it happens.

A registration that could never take effect is refused at once with a `RegistrationError`
naming it and what it might have meant (`soapbus serve` prints it as its one-line reason not
to start): a noun that is not served, a verb that is not a 61968 verb or not offered for the
noun, a second handler for the same (noun, verb), a class where an instance is needed, a
table named like one of soapbus's own. Verbs are normalised (`Update` is `change`).
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import MetaData

from ..message import verbs
from ..profiles import NOUNS, Noun
from ..store import metadata as store_metadata
from .contract import Handler, Middleware

ANY = "*"

# The Header/Noun of a message whose Operations name their own nouns.
OPERATION_SET_NOUN = "OperationSet"

# The verbs an Operation of an OperationSet may carry: the transactions that replace or remove
# objects, and their past forms for changes that already happened elsewhere.
OPERATION_VERBS = ("create", "change", "delete", "created", "changed", "deleted")


class RegistrationError(ValueError):
    """A registration that could not work; the message is one line naming it."""


@dataclass(frozen=True)
class Registration:
    noun: str  # a served noun's name, or ANY
    verb: str  # a normalised 61968 verb, or ANY
    handler: Handler
    element_operations: bool = False  # also takes Operations with elementOperation=true

    @property
    def where(self) -> str:
        return describe(self.handler)


def describe(obj: object) -> str:
    """module.qualname of a function, class or instance, for messages and logs."""
    target = obj if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj) else type(obj)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def _suggestion(word: str, known) -> str:
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?"
    return f"; known: {', '.join(sorted(known))}"


def _checked_noun(noun: str, where: str) -> str:
    name = (noun or "").strip()
    if name == ANY or name in NOUNS:
        return name
    if name == OPERATION_SET_NOUN:
        raise RegistrationError(f"{where}: OperationSet is no noun a handler takes; soapbus runs each Operation "
                                "of a set through the handler of the Operation's own noun and verb")
    raise RegistrationError(f"{where}: no noun {noun!r} is served here{_suggestion(name, NOUNS)}")


def _checked_verb(verb: str, where: str) -> str:
    name = verbs.normalize(verb)
    if name == ANY or name in verbs.ALL_VERBS:
        return name
    raise RegistrationError(f"{where}: {verb!r} is not a 61968 verb"
                            f"{_suggestion(name, verbs.ALL_VERBS | set(verbs.SYNONYMS))}")


def offered_verbs(noun: Noun) -> list[str]:
    """The verbs a message on this noun may carry: its services' operations, execute, reply."""
    offered = {op.verb for service in noun.services() for op in service.operations} | {"execute", verbs.REPLY_VERB}
    return sorted(offered)


def _check_pair(noun: str, verb: str, element_operations: bool, where: str) -> None:
    if noun != ANY and verb != ANY and verb not in offered_verbs(NOUNS[noun]):
        raise RegistrationError(f"{where}: verb {verb!r} is not offered for {noun} "
                                f"(it takes {', '.join(offered_verbs(NOUNS[noun]))})")
    if element_operations and verb not in (*OPERATION_VERBS, ANY):
        raise RegistrationError(f"{where}: element_operations=True is for the verbs of an OperationSet's "
                                f"Operations ({', '.join(OPERATION_VERBS)}), not {verb!r}")


def _check_callable(handler: object, where: str) -> None:
    if not callable(handler):
        raise RegistrationError(f"{where}: a handler must be callable as handler(request), not {type(handler).__name__}")
    try:
        inspect.signature(handler).bind(None)
    except TypeError:
        raise RegistrationError(f"{where}: a handler takes exactly one argument, the HandlerRequest") from None
    except ValueError:  # no signature to read (a builtin): it will tell when called
        pass


class HandlerRegistry:
    """Handlers keyed by (noun, verb), `*` in either place a fallback; middleware in order; tables."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Registration] = {}
        self._middleware: list[Middleware] = []
        self._tables: list[MetaData] = []
        self.fallback: HandlerRegistry | None = None  # asked when nothing here matches (the built-in store)

    # ------------------------------------------------------------ handlers

    def register(self, noun: str, verb: str, handler: Handler, *, element_operations: bool = False) -> Registration:
        where = f"handler {describe(handler)} for ({noun!r}, {verb!r})"
        key = (_checked_noun(noun, where), _checked_verb(verb, where))
        _check_pair(*key, element_operations, where)
        _check_callable(handler, where)
        existing = self._handlers.get(key)
        if existing is not None and existing.handler is not handler:
            raise RegistrationError(f"{where}: ({key[0]}, {key[1]}) is already handled by {existing.where}")
        registration = Registration(key[0], key[1], handler, element_operations)
        self._handlers[key] = registration
        return registration

    def handles(self, noun: str = ANY, verb: str = ANY, *,
                element_operations: bool = False) -> Callable[[Handler], Handler]:
        """Decorator: `@registry.handles("SwitchingPlans", "create")`."""
        def decorate(fn: Handler) -> Handler:
            self.register(noun, verb, fn, element_operations=element_operations)
            return fn
        return decorate

    def lookup(self, noun: str, verb: str) -> Registration | None:
        """(noun, verb), (noun, *), (*, verb), (*, *); then the fallback's."""
        for key in ((noun, verb), (noun, ANY), (ANY, verb), (ANY, ANY)):
            if key in self._handlers:
                return self._handlers[key]
        return self.fallback.lookup(noun, verb) if self.fallback is not None else None

    @property
    def registrations(self) -> tuple[Registration, ...]:
        return tuple(self._handlers.values())

    # ------------------------------------------------------------ middleware

    def use(self, middleware: Middleware) -> Middleware:
        """Add a middleware instance after those already registered (ingress runs in this order,
        egress in the reverse order)."""
        if isinstance(middleware, type):
            raise RegistrationError(f"middleware {describe(middleware)} is a class: register an instance, "
                                    f"registry.use({middleware.__name__}())")
        for hook in ("ingress", "egress"):
            if not callable(getattr(middleware, hook, None)):
                raise RegistrationError(f"middleware {describe(middleware)} has no {hook}() method: "
                                        "subclass soapbus.handlers.Middleware")
        if any(middleware is known for known in self._middleware):
            raise RegistrationError(f"middleware {describe(middleware)} is registered already")
        self._middleware.append(middleware)
        return middleware

    @property
    def middleware(self) -> tuple[Middleware, ...]:
        return tuple(self._middleware)

    # ------------------------------------------------------------ tables

    def add_tables(self, tables: MetaData) -> MetaData:
        """Your own tables (a SQLAlchemy MetaData): soapbus creates them in its database, where
        they take part in each request's transaction (write them with `request.uow.execute`)."""
        if not isinstance(tables, MetaData):
            raise RegistrationError(f"add_tables takes a sqlalchemy.MetaData, not {type(tables).__name__}")
        taken = sorted(set(tables.tables) & set(store_metadata.tables))
        if taken:
            raise RegistrationError(f"table {taken[0]!r} is one of soapbus's own: name yours differently "
                                    "(a prefix such as dms_)")
        if all(tables is not known for known in self._tables):
            self._tables.append(tables)
        return tables

    @property
    def tables(self) -> tuple[MetaData, ...]:
        return tuple(self._tables)

    # ------------------------------------------------------------ copies

    def copy(self) -> HandlerRegistry:
        clone = HandlerRegistry()
        clone._handlers = dict(self._handlers)
        clone._middleware = list(self._middleware)
        clone._tables = list(self._tables)
        clone.fallback = self.fallback
        return clone


# Handlers, middleware and tables a DMS module registers when it is imported; a server starts
# from a copy of this.
registry = HandlerRegistry()

__all__ = ["ANY", "OPERATION_SET_NOUN", "OPERATION_VERBS", "RegistrationError", "Registration", "HandlerRegistry",
           "registry", "describe", "offered_verbs"]
