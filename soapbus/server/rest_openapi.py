"""The OpenAPI 3 document of the REST binding, `/rest/openapi.json`, built from the noun table.

Every noun gets `/<Noun>` and `/<Noun>/{id}` with the methods it answers (reads for all; POST,
PUT and DELETE where its transactions and its interface allow them), and a JSON schema of its
profile document written from the profile itself by the mapping of profiles/jsonmap.py, so the
document cannot drift from what the server accepts.
"""
from __future__ import annotations

from functools import lru_cache

from ..profiles import INTERFACES, NOUNS, Noun, xsd_dir
from ..profiles.jsonmap import ProfileShapes, shapes_of
from .rest_messages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, allowed_methods

OPENAPI_VERSION = "3.0.3"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _type_schemas(noun: Noun, shapes: ProfileShapes, root_type: str, prefix: str) -> dict[str, dict]:
    """A schema per complex type reachable from the root, named `<prefix>.<Type>`."""
    schemas: dict[str, dict] = {}
    pending = [root_type]
    while pending:
        type_name = pending.pop()
        name = f"{prefix}.{type_name}"
        shape = shapes.shape(type_name)
        if name in schemas or shape is None:
            continue
        properties: dict[str, dict] = {f"@{a}": {"type": "string"} for a in shape.attributes}
        if shape.simple_content:
            properties["#text"] = {"type": "string"}
        for child in shape.children.values():
            child_shape = shapes.shape(child.type_name)
            item = _ref(f"{prefix}.{child.type_name}") if child_shape is not None else {"type": "string"}
            if child_shape is not None:
                pending.append(child.type_name)
            properties[child.name] = {"type": "array", "items": item} if child.repeatable else item
        schemas[name] = {"type": "object", "properties": properties, "additionalProperties": shape.open_content}
    return schemas


def _document_schemas(noun: Noun) -> dict[str, dict]:
    """The JSON of each edition's document: `{"<Noun>": {"@xmlns": ..., ...}}`."""
    schemas: dict[str, dict] = {}
    variants = []
    for edition in noun.editions:
        shapes = shapes_of(str(xsd_dir() / edition.profile_xsd))
        prefix = f"{noun.name}{edition.year}"
        root_type = shapes.root_type(noun.name)
        schemas.update(_type_schemas(noun, shapes, root_type, prefix))
        root = schemas[f"{prefix}.{root_type}"]
        root["properties"] = {"@xmlns": {"type": "string", "enum": [edition.namespace]}, **root["properties"]}
        variants.append(_ref(f"{prefix}.{root_type}"))
    body = variants[0] if len(variants) == 1 else {"oneOf": variants}
    schemas[noun.name] = {"type": "object", "required": [noun.name], "properties": {noun.name: body},
                          "description": f"The {noun.name} profile document ({noun.source}) in JSON: elements "
                                         "as keys, repeatable ones as arrays, attributes as @name, simple values "
                                         "as strings (docs/rest.md)."}
    return schemas


_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _content(noun: Noun) -> dict:
    return {"application/xml": {"schema": {"type": "string", "description": f"a {noun.name} document, "
                                                                              f"xsd/{noun.profile_xsd}"}},
            "application/json": {"schema": _ref(noun.name)}}


def _list_parameters() -> list[dict]:
    def query(name: str, description: str, schema: dict, many: bool = False) -> dict:
        parameter = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
        if many:
            parameter.update(schema={"type": "array", "items": schema}, style="form", explode=True)
        return parameter
    when = {"type": "string", "format": "date-time"}
    return [query("start", "objects changed at or after (values: taken at or after) this time", when),
            query("end", "objects changed before (values: taken at or before) this time", when),
            query("mRID", "objects that are, or refer to, this mRID (values: of this meter, usage point or "
                          "measurement)", {"type": "string"}, many=True),
            query("name", "objects named (Names/name) so", {"type": "string"}, many=True),
            query("page", "which page, from 1", {"type": "integer", "minimum": 1, "default": 1}),
            query("pageSize", "objects per page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                                   "default": DEFAULT_PAGE_SIZE}),
            _edition_parameter()]


def _edition_parameter() -> dict:
    return {"name": "edition", "in": "query", "required": False, "schema": {"type": "integer"},
            "description": "the profile edition (year) to answer in; objects that do not convert without loss "
                           "stay in their own"}


def _write_headers() -> list[dict]:
    return [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200},
             "description": "the MessageID of the 61968 request: the same key again acts once and answers the same"}]


def _paths(noun: Noun, signed_only: bool) -> dict[str, dict]:
    tag = [f"{noun.interface} {INTERFACES[noun.interface]}"]
    documents = {"description": f"{noun.name} document(s)", "content": _content(noun),
                 "headers": {"Link": {"schema": {"type": "string"}, "description": "first, last, next, prev pages"},
                             "X-Total-Count": {"schema": {"type": "integer"}}}}
    collection = {"get": {"tags": tag, "summary": f"{noun.name} by time window, related mRIDs and names, a page "
                                                  "at a time", "parameters": _list_parameters(),
                          "responses": {"200": documents, "400": _PROBLEM}}}
    one = {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                           "description": "the mRID, or name:<NameType>:<name> for an object known by name"}],
           "get": {"tags": tag, "summary": f"one {noun.item}", "parameters": [_edition_parameter()],
                   "responses": {"200": {"description": f"a {noun.name} document holding it",
                                         "content": _content(noun)}, "404": _PROBLEM}}}
    written = {"description": "the 61968 reply", "content": {"application/json": {"schema": _ref("Reply")}}}
    body = {"required": True, "content": _content(noun)}
    if "POST" in allowed_methods(noun, False, signed_only):
        collection["post"] = {"tags": tag, "summary": f"create {noun.name}", "parameters": _write_headers(),
                              "requestBody": body, "responses": {"201": written, "400": _PROBLEM, "409": _PROBLEM,
                                                                 "422": _PROBLEM}}
    methods = allowed_methods(noun, True, signed_only)
    if "PUT" in methods:
        one["put"] = {"tags": tag, "summary": f"change a {noun.item}", "parameters": _write_headers(),
                      "requestBody": body, "responses": {"200": written, "400": _PROBLEM, "404": _PROBLEM}}
    if "DELETE" in methods:
        one["delete"] = {"tags": tag, "summary": f"delete a {noun.item}", "parameters": _write_headers(),
                         "responses": {"200": written, "404": _PROBLEM}}
    if signed_only:
        collection["get"]["description"] = (f"{noun.interface} is read-only over REST: create, change and the other "
                                            f"transactions need a signed SOAP request to /soap/Execute{noun.name}")
    return {f"/{noun.name}": collection, f"/{noun.name}/{{id}}": one}


@lru_cache(maxsize=1)
def _components() -> dict:
    schemas: dict[str, dict] = {
        "Problem": {"type": "object", "description": "RFC 9457 problem details with the 61968 reply code",
                    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                   "status": {"type": "integer"}, "detail": {"type": "string"},
                                   "code": {"type": "string", "description": "61968-100 reply code, e.g. 1.8"},
                                   "details": {"type": "string"}, "messageId": {"type": "string"}}},
        "Reply": {"type": "object", "properties": {
            "result": {"type": "string", "enum": ["OK", "PARTIAL", "FAILED"]},
            "ids": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "array", "items": {"type": "object"}},
            "messageId": {"type": "string"}, "correlationId": {"type": "string"}, "location": {"type": "string"}}},
    }
    for noun in NOUNS.values():
        schemas.update(_document_schemas(noun))
    return {"schemas": schemas, "responses": {"Problem": {
        "description": "refused, with the 61968 reply code",
        "content": {"application/problem+json": {"schema": _ref("Problem")}}}}}


def openapi_document(base_url: str, signed_only=lambda noun: noun.signed_by_default) -> dict:
    """The document for a server at `base_url`; `signed_only(noun)` says whose writes need signed SOAP."""
    paths: dict[str, dict] = {}
    for noun in NOUNS.values():
        paths.update(_paths(noun, signed_only(noun)))
    return {"openapi": OPENAPI_VERSION,
            "info": {"title": "soapbus REST binding of IEC 61968 nouns", "version": "1",
                     "description": "CIM profile documents over plain HTTP, through the same pipeline as the SOAP "
                                    "endpoints (checked, journaled, idempotent by Idempotency-Key)."},
            "servers": [{"url": f"{base_url}/rest"}], "paths": paths, "components": _components()}


__all__ = ["openapi_document"]
