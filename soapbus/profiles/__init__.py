"""CIM profiles: the noun table, payload validation against xsd/, and the WSDLs built from them."""
from .locations import wsdl_dir, xsd_dir
from .nouns import (DEFAULT_TRANSACTIONS, GENERIC, INTERFACES, NOUNS, SIGNED_INTERFACES, Noun, Operation, Service, get,
                    interface_requires_signing, service, services, verb_allowed)
from .editions import Edition
from .series import Series, SeriesCriteria, SeriesError
from .validate import edition_of, validate_documents, validate_message

__all__ = ["DEFAULT_TRANSACTIONS", "GENERIC", "INTERFACES", "NOUNS", "SIGNED_INTERFACES", "Noun", "Operation",
           "Service", "get", "interface_requires_signing", "service", "services", "verb_allowed",
           "validate_documents", "validate_message", "xsd_dir", "wsdl_dir", "Edition", "edition_of", "Series",
           "SeriesCriteria", "SeriesError"]
