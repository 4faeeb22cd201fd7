"""The FAILED SOAP Fault: the one shape of every answer that is not a 61968 ResponseMessage.

A request refused before it could be read as a 61968 message (wrong content type, too large,
not well-formed, no operation of this service, no usable message), a request the database
cannot take (5.2, server/outage.py) and a server failure while answering (5.3) are all
answered with a SOAP 1.1 Fault whose detail is a 61968 FaultMessage: Result FAILED and the
one Error that says why. It is built here and nowhere else; WS-Security faults (wsse:...)
are the security layer's own and are not FAILED FaultMessages.
"""
from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from ..message import Error, FaultMessage, Reply, codes, soap
from ..message import envelope as env

CLIENT = "soapenv:Client"  # the request is at fault: sending it again unchanged gets the same answer
SERVER = "soapenv:Server"  # this server is: the same request may succeed later

DetailShape = Callable[[FaultMessage], etree._Element]


def failed_fault(error: Error, faultcode: str = CLIENT, detail_shape: DetailShape = env.to_element) -> bytes:
    """The whole Fault envelope: faultstring "<code>: <reason>", detail the FaultMessage carrying `error`.

    detail_shape: how the FaultMessage is written (a typed service's `<Noun>FaultMessage` wrapper,
    or the plain message element by default)."""
    message = FaultMessage(Reply(result=codes.FAILED, errors=[error]))
    return soap.to_bytes(soap.fault(faultcode, f"{error.code}: {error.reason}", detail_shape(message)))


def fatal(code: str, reason: str, **fields) -> Error:
    return Error(code=code, level="FATAL", reason=reason, **fields)


__all__ = ["failed_fault", "fatal", "CLIENT", "SERVER"]
