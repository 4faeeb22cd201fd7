"""Exceptions the store raises for conditions a caller is expected to handle."""


class StoreError(Exception):
    """Base of every store exception."""


class DuplicateObject(StoreError):
    """An object with this (noun, key) is already stored; the transaction is still usable."""

    def __init__(self, noun: str, key: str):
        super().__init__(f"{noun} {key!r} already exists")
        self.noun = noun
        self.key = key


class UnknownObject(StoreError, LookupError):
    """No object with this (noun, key) is stored."""

    def __init__(self, noun: str, key: str):
        super().__init__(f"{noun} {key!r} is not stored")
        self.noun = noun
        self.key = key


class UnknownClaim(StoreError, LookupError):
    """A reply was recorded for a (source, message_id) that was never claimed."""

    def __init__(self, source: str, message_id: str):
        super().__init__(f"message {message_id!r} from source {source!r} was never claimed")
        self.source = source
        self.message_id = message_id


class DuplicateSubscription(StoreError):
    """This endpoint already subscribes to this (noun, verb, context); None stands for "any"."""

    def __init__(self, endpoint: str, noun: str | None, verb: str | None, context: str | None):
        super().__init__(f"{endpoint!r} already subscribes to noun={noun!r} verb={verb!r} context={context!r}")
        self.endpoint = endpoint
        self.noun = noun
        self.verb = verb
        self.context = context


class DuplicateRoute(StoreError):
    """A route for this (noun, verb, context) exists; None stands for "any"."""

    def __init__(self, noun: str, verb: str | None, context: str | None):
        super().__init__(f"a route for noun={noun!r} verb={verb!r} context={context!r} already exists")
        self.noun = noun
        self.verb = verb
        self.context = context


class StoreUnavailable(StoreError):
    """The database cannot be reached or cannot take work now (connection refused or lost, server
    shutting down, out of connections or disk, SQLite file locked past the busy timeout or not
    openable). Whatever the unit of work did was rolled back, or — when the connection was lost
    while committing — possibly committed whole; never half. `reason` is one line, fit for a
    log, a health page or a 61968 Error."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
