"""Namespace URIs of the 61968-100 envelope and its SOAP carriers."""

MSG = "http://iec.ch/TC57/2011/schema/message"
# The standard's own examples and several deployments use this spelling; accepted on input only.
MSG_WWW = "http://www.iec.ch/TC57/2011/schema/message"
MSG_ACCEPTED = (MSG, MSG_WWW)

ABSTRACT = "http://iec.ch/TC57/2011/abstract"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def noun_message_ns(noun: str) -> str:
    """Namespace of the strongly typed per-noun message schema (`<Noun>Message.xsd`)."""
    return f"http://iec.ch/TC57/2011/{noun}Message"


def profile_ns(noun: str) -> str:
    """Namespace of a noun's CIM profile document."""
    return f"http://iec.ch/TC57/2011/{noun}#"
