"""CIM profiles: the noun table, payload validation against xsd/, and the WSDLs built from them."""
from .locations import wsdl_dir, xsd_dir
from .nouns import GENERIC, INTERFACES, NOUNS, Noun, Operation, Service, get, service, services, verb_allowed
from .validate import validate_documents, validate_message

__all__ = ["GENERIC", "INTERFACES", "NOUNS", "Noun", "Operation", "Service", "get", "service", "services",
           "verb_allowed", "validate_documents", "validate_message", "xsd_dir", "wsdl_dir"]
