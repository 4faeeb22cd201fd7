"""A DMS handler module for tests, loaded with `soapbus serve --handlers tests.plugins.database_dies`.

It takes MeterReadings creates. For a reading whose mRID starts with CUT- (the first time it
sees that mRID), it first has the test's TCP proxy cut the database off (a connection to the
port in SOAPBUS_TEST_CUT_PORT; see tests/tcp_proxy.py) and then stores the reading through the
request's unit of work, which now has no database under it: the outage strikes inside a
handler, in the middle of a transaction. Every other create is stored as the built-in store would.
"""
import os
import socket

from soapbus.handlers import HandlerRequest, HandlerResult, ok, registry
from soapbus.profiles import objects

CUT_PREFIX = "CUT-"
_already_cut: set[str] = set()


@registry.handles("MeterReadings", "create")
def create_while_the_database_dies(req: HandlerRequest) -> HandlerResult:
    for doc in req.documents:
        for item in objects.items(req.noun, doc):
            ref = objects.identify(req.noun, item)
            if ref.key.startswith(CUT_PREFIX) and ref.key not in _already_cut:
                _already_cut.add(ref.key)
                _cut_the_database_off()
            req.uow.object_insert(req.noun.name, ref.key, req.noun.item, objects.serialize(item))
    return ok()


def _cut_the_database_off() -> None:
    with socket.create_connection(("127.0.0.1", int(os.environ["SOAPBUS_TEST_CUT_PORT"])), timeout=10) as switch:
        switch.recv(3)  # "cut": the proxy has dropped every connection
