"""CIM profiles: the noun table, payload validation against xsd/, and the WSDLs built from them."""
from .nouns import GENERIC, INTERFACES, NOUNS, Noun, Operation, Service, get, service, services, verb_allowed

__all__ = ["GENERIC", "INTERFACES", "NOUNS", "Noun", "Operation", "Service", "get", "service", "services",
           "verb_allowed"]
