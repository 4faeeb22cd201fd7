"""Namespace and algorithm URIs of WS-Security 1.1, XML-DSig and the X.509 Token Profile."""
from soapbus.message.namespaces import SOAP11_ENV

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
XML = "http://www.w3.org/XML/1998/namespace"
EXC_C14N_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"  # namespace of ec:InclusiveNamespaces

# SOAP 1.1 actor meaning "whoever receives this next": such a header targets every receiver.
ACTOR_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"

X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
X509_SKI = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier"
BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
C14N10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N10_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
ECDSA_SHA1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"

NSMAP = {"wsse": WSSE, "wsu": WSU}


def tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


ENVELOPE = tag(SOAP11_ENV, "Envelope")
SOAP_HEADER = tag(SOAP11_ENV, "Header")
SOAP_BODY = tag(SOAP11_ENV, "Body")
MUST_UNDERSTAND = tag(SOAP11_ENV, "mustUnderstand")
ACTOR = tag(SOAP11_ENV, "actor")
SECURITY = tag(WSSE, "Security")
BST = tag(WSSE, "BinarySecurityToken")
STR = tag(WSSE, "SecurityTokenReference")
WSSE_REFERENCE = tag(WSSE, "Reference")
KEY_IDENTIFIER = tag(WSSE, "KeyIdentifier")
TIMESTAMP = tag(WSU, "Timestamp")
CREATED = tag(WSU, "Created")
EXPIRES = tag(WSU, "Expires")
WSU_ID = tag(WSU, "Id")
SIGNATURE = tag(DS, "Signature")
