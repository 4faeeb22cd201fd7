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
