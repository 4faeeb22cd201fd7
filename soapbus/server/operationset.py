"""`execute` with a Payload/OperationSet: several create/change/delete operations in one message.

Part of the core: the pipeline runs every set here, whichever handlers are registered, so a
DMS's own handler for one (noun, verb) takes part in a set like the built-in store does. Each
Operation is one call of its handler (with the middleware around it), as a request of its own
with `operation_id` set.

Each Operation names its noun, its verb (create, change, delete, or their past forms created,
changed, deleted: "apply this change, which has already happened elsewhere") and carries one
profile document. Each is checked on its own (noun served -> else 2.5, verb offered for the
noun -> else 2.9, document valid against the noun's profile -> else 1.8), then applied by the
handler the registry holds for its noun and verb, inside its own savepoint: an Operation is
applied whole or not at all, and a failed one leaves no trace. An Operation with
elementOperation=true edits parts of stored objects; it goes only to a handler registered with
element_operations=True (the built-in store's are, see cimstore), since its document names
parts, not whole objects: only its root is checked here and the handler holds the edited
objects to the profile.

The set's flags:
- enforceMsgSequence: the operations run in the order given and the first failure stops the
  set; those after it are answered 5.2 (not attempted).
- enforceTransactionalIntegrity: all or nothing. The whole set runs inside one savepoint; on
  any failure it is rolled back and the answer is FAILED, naming each failed operationId with
  its own code and answering 5.9 for the operations that had succeeded and were undone.
Without either flag every operation is tried, in document order, and kept or not on its own:
OK, PARTIAL or FAILED, with one Error per operation that failed.

Which nouns a set may touch: with Header/Noun a served noun (or on that noun's typed service),
only that noun, since the guard at the server's edge decided from that noun whether the message
had to be signed. With Header/Noun OperationSet the guard sees no interface, so operations on
nouns whose interface must be signed (I1, I9) are refused there: they travel in an OperationSet
sent under their own noun, which the guard then requires to be signed.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lxml import etree

from ..handlers import HandlerRequest, HandlerResult, Identity, Middleware, UnitOfWork
from ..handlers.registry import OPERATION_SET_NOUN, OPERATION_VERBS, Registration
from ..message import Error, EventMessage, MessageError, Payload, Reply, RequestMessage, codes, verbs
from ..message.namespaces import MSG_ACCEPTED
from ..profiles import NOUNS, Noun, interface_requires_signing, validate_documents, verb_allowed
from .calling import HandlerCrashed, invoke

# Finds the registration for one operation's (noun name, verb), or None.
Lookup = Callable[[str, str], Registration | None]


@dataclass(frozen=True)
class SetRun:
    """What running one OperationSet needs from the request that carries it."""

    message: RequestMessage  # the execute message holding the set
    scope: Noun | None  # the noun every operation must be on (Header/Noun or the typed service), or None
    uow: UnitOfWork
    identity: Identity
    lookup: Lookup
    middleware: Sequence[Middleware]
    submitter: Callable[[RequestMessage, str], Reply] | None = None


# ---------------------------------------------------------------- the set as data


@dataclass(frozen=True)
class SetOperation:
    operation_id: int
    noun_name: str | None  # as written in <noun>, else taken from the document's root element
    verb: str | None  # normalised (update -> change); None when the Operation has no <verb>
    element_operation: bool
    documents: tuple[etree._Element, ...]  # the schema allows one; more are reported, not guessed at


@dataclass(frozen=True)
class OperationSet:
    enforce_sequence: bool
    enforce_integrity: bool
    operations: tuple[SetOperation, ...]


def _local(el) -> str:
    return etree.QName(el).localname


def _is_message_element(el) -> bool:
    return etree.QName(el).namespace in MSG_ACCEPTED


def _elements(parent) -> list[etree._Element]:
    return [child for child in parent if isinstance(child.tag, str)]


def _boolean(el, where: str) -> bool:
    text = (el.text or "").strip()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise MessageError("1.8", f"{where} is not an xs:boolean: {text!r}", xpath=where)


def _operation_id(el, position: int) -> int:
    text = (el.text or "").strip()
    try:
        return int(text)
    except ValueError:
        where = f"Payload/OperationSet/Operation[{position}]/operationId"
        raise MessageError("1.8", f"{where} is not an xs:integer: {text!r}", xpath=where) from None


def _noun_of_document(document: etree._Element) -> str | None:
    """A profile document names its noun twice: root element and namespace (…/MeterReadings#)."""
    name = _local(document)
    noun = NOUNS.get(name)
    return name if noun is not None and noun.edition_of(document) is not None else None


def parse_operation(el: etree._Element, position: int) -> SetOperation:
    where = f"Payload/OperationSet/Operation[{position}]"
    fields: dict = {"operation_id": None, "noun_name": None, "verb": None, "element_operation": False}
    documents = []
    for child in _elements(el):
        if not _is_message_element(child):
            documents.append(child)
            continue
        name = _local(child)
        if name == "operationId":
            fields["operation_id"] = _operation_id(child, position)
        elif name == "noun":
            fields["noun_name"] = (child.text or "").strip() or None
        elif name == "verb":
            fields["verb"] = verbs.normalize(child.text or "") or None
        elif name == "elementOperation":
            fields["element_operation"] = _boolean(child, f"{where}/elementOperation")
        else:
            raise MessageError("1.8", f"{where} has an unexpected element {name}", xpath=f"{where}/{name}")
    if fields["operation_id"] is None:
        raise MessageError("1.8", f"{where} has no operationId, which the reply needs to name it",
                           xpath=f"{where}/operationId")
    if fields["noun_name"] is None and len(documents) == 1:
        fields["noun_name"] = _noun_of_document(documents[0])
    return SetOperation(documents=tuple(documents), **fields)


def parse_operation_set(el: etree._Element) -> OperationSet:
    """The OperationSet element as data; MessageError (1.7, 1.8) where the set as a whole is unusable."""
    flags = {"enforceMsgSequence": False, "enforceTransactionalIntegrity": False}
    operations: list[SetOperation] = []
    for child in _elements(el):
        name = _local(child)
        if _is_message_element(child) and name in flags:
            flags[name] = _boolean(child, f"Payload/OperationSet/{name}")
        elif _is_message_element(child) and name == "Operation":
            operations.append(parse_operation(child, len(operations) + 1))
        else:
            raise MessageError("1.8", f"Payload/OperationSet has an unexpected element {name}",
                               xpath=f"Payload/OperationSet/{name}")
    if not operations:
        raise MessageError("1.7", "Payload/OperationSet holds no Operation", xpath="Payload/OperationSet")
    _refuse_repeated_ids(operations)
    return OperationSet(flags["enforceMsgSequence"], flags["enforceTransactionalIntegrity"], tuple(operations))


def _refuse_repeated_ids(operations: list[SetOperation]) -> None:
    # The reply names operations by operationId alone: two with one id could not be told apart.
    seen: set[int] = set()
    for op in operations:
        if op.operation_id in seen:
            raise MessageError("1.8", f"operationId {op.operation_id} is used by two Operations; "
                                      "it must be unique within the OperationSet",
                               xpath="Payload/OperationSet/Operation/operationId")
        seen.add(op.operation_id)


# ---------------------------------------------------------------- checking one operation


@dataclass(frozen=True)
class Checked:
    """An operation that passed its checks and can be applied."""

    operation: SetOperation
    noun: Noun
    registration: Registration


def _refusal(op: SetOperation, code: str, reason: str, **fields) -> Error:
    return Error(code=code, level="FATAL", reason=f"operation {op.operation_id}: {reason}",
                 operation_id=op.operation_id, **fields)


def _check_document_count(op: SetOperation) -> Error | None:
    if not op.documents:
        return _refusal(op, "1.7", "the Operation carries no profile document")
    if len(op.documents) > 1:
        return _refusal(op, "1.8", f"the Operation carries {len(op.documents)} profile documents; "
                                   "the schema allows one")
    return None


def _resolve_noun(op: SetOperation, scope: Noun | None) -> Noun | Error:
    if op.noun_name is None:
        return _refusal(op, "2.5", "the Operation names no noun (no <noun>, and the document is no served profile)")
    noun = NOUNS.get(op.noun_name)
    if noun is None:
        return _refusal(op, "2.5", f"noun {op.noun_name!r} is not served here")
    if scope is not None and noun.name != scope.name:
        return _refusal(op, "2.5", f"noun {noun.name!r} in an OperationSet sent as {scope.name}: "
                                   f"every operation must be on {scope.name}")
    if scope is None and interface_requires_signing(noun.interface):
        return _refusal(op, "2.5", f"{noun.name} is on {noun.interface}, where messages must be signed: "
                                   f"send its operations in an OperationSet with Header/Noun {noun.name}")
    return noun


def _check_verb(op: SetOperation, noun: Noun) -> Error | None:
    if op.verb is None:
        return _refusal(op, "2.9", "the Operation has no verb")
    if op.verb not in OPERATION_VERBS:
        return _refusal(op, "2.9", f"verb {op.verb!r} cannot be used in an OperationSet "
                                   f"(one of {', '.join(OPERATION_VERBS)})")
    if not verb_allowed(noun, op.verb):
        return _refusal(op, "2.9", f"verb {op.verb!r} is not offered for noun {noun.name!r}")
    return None


def _check_root(op: SetOperation, noun: Noun) -> Error | None:
    document = op.documents[0]
    if noun.edition_of(document) is not None:  # any edition's namespace of the noun
        return None
    return _refusal(op, "1.8", f"the document's root is {document.tag}, not {{{noun.profile_ns}}}{noun.name} "
                               "(or the same in another edition's namespace)")


def _check_document(op: SetOperation, noun: Noun) -> Error | None:
    if op.element_operation:
        # An element-level document names parts of objects (one Readings, one link), not whole
        # objects, so the profile's required elements cannot be asked of it; what is held to
        # the profile is each object as it would be stored afterwards (see cimstore).
        return _check_root(op, noun)
    errors = validate_documents(noun.name, list(op.documents), limit=1)
    if not errors:
        return None
    return dataclasses.replace(errors[0], reason=f"operation {op.operation_id}: {errors[0].reason}",
                               operation_id=op.operation_id)


def check_operation(op: SetOperation, scope: Noun | None, lookup: Lookup) -> Checked | Error:
    """The operation ready to apply, or the Error that refuses it (nothing has been touched)."""
    problem = _check_document_count(op)
    if problem is not None:
        return problem
    noun = _resolve_noun(op, scope)
    if isinstance(noun, Error):
        return noun
    problem = _check_verb(op, noun) or _check_document(op, noun)
    if problem is not None:
        return problem
    registration = lookup(noun.name, op.verb)
    if registration is None:
        return _refusal(op, "2.9", f"verb {op.verb!r} is not handled for noun {noun.name!r} by this system")
    if op.element_operation and not registration.element_operations:
        return _refusal(op, "2.9", f"elementOperation=true is not handled for {op.verb} on {noun.name} by this "
                                   "system (its handler takes whole objects)")
    return Checked(op, noun, registration)


# ---------------------------------------------------------------- applying one operation


@dataclass
class Outcome:
    """What became of one operation. `status`: done, failed or not_attempted (after a failure, in sequence)."""

    operation: SetOperation
    status: str
    ids: list = dataclasses.field(default_factory=list)  # objects a done operation touched
    error: Error | None = None  # why a failed operation failed


class _OperationFailed(Exception):
    """Raised inside an operation's savepoint so that its work is rolled back."""

    def __init__(self, reply: Reply):
        super().__init__(reply.result)
        self.reply = reply


def _operation_request(run: SetRun, checked: Checked) -> HandlerRequest:
    """The request one operation's handler sees: the set's header, with the operation's noun and verb."""
    op = checked.operation
    header = dataclasses.replace(run.message.header, verb=op.verb, noun=checked.noun.name)
    payload = Payload(documents=list(op.documents))
    # A past-tense verb reports a change made elsewhere: its handler expects an event.
    message = EventMessage(header, payload) if op.verb in verbs.EVENT_VERBS else RequestMessage(header, None, payload)
    identity = dataclasses.replace(run.identity, interface=checked.noun.interface)
    return HandlerRequest(message=message, noun=checked.noun, verb=op.verb, documents=list(op.documents),
                          identity=identity, uow=run.uow, operation_id=op.operation_id,
                          element_operation=op.element_operation, submitter=run.submitter)


def _one_error(op: SetOperation, reply: Reply) -> Error:
    """One Error for a failed operation, however many of its objects failed."""
    failures = [e for e in reply.errors if not codes.is_success(e.code)]
    undone = (" The operation's other objects were rolled back with it: an Operation is applied whole or not at all."
              if reply.result == codes.PARTIAL else "")
    if not failures:
        return _refusal(op, "5.3", f"the handler answered {reply.result} without an Error" + undone)
    if len(failures) == 1:
        only = failures[0]
        reason = f"operation {op.operation_id}: {only.reason or codes.describe(only.code)}{undone}"
        return dataclasses.replace(only, reason=reason, operation_id=op.operation_id)
    distinct = {e.code for e in failures}
    code = distinct.pop() if len(distinct) == 1 else "5.4"
    reasons = "; ".join(e.reason or codes.describe(e.code) for e in failures)
    return _refusal(op, code, f"{len(failures)} objects failed: {reasons}." + undone)


def apply_operation(run: SetRun, checked: Checked) -> Outcome:
    """Run one checked operation in its own savepoint: kept if its handler answers OK, else undone.
    StoreUnavailable (the database went away) passes: the whole request is answered 5.2."""
    op = checked.operation
    try:
        with run.uow.savepoint():
            result = invoke(_operation_request(run, checked), checked.registration, run.middleware)
            if not result.reply.ok:
                raise _OperationFailed(result.reply)
    except _OperationFailed as failure:
        return Outcome(op, "failed", error=_one_error(op, failure.reply))
    except HandlerCrashed as crash:  # one operation's bug must not lose the answers of the others
        return Outcome(op, "failed", error=Error(code="5.3", level="FATAL", reason=crash.reason,
                                                 operation_id=op.operation_id))
    return Outcome(op, "done", ids=list(result.reply.ids))


# ---------------------------------------------------------------- the set


def run_operations(run: SetRun, op_set: OperationSet) -> list[Outcome]:
    outcomes: list[Outcome] = []
    stopped = False
    for op in op_set.operations:
        if stopped:
            outcomes.append(Outcome(op, "not_attempted"))
            continue
        checked = check_operation(op, run.scope, run.lookup)
        outcome = Outcome(op, "failed", error=checked) if isinstance(checked, Error) else apply_operation(run, checked)
        outcomes.append(outcome)
        stopped = op_set.enforce_sequence and outcome.status == "failed"
    return outcomes


def _failed_ids(outcomes: list[Outcome]) -> str:
    return ", ".join(str(o.operation.operation_id) for o in outcomes if o.status == "failed")


def _not_attempted(outcome: Outcome, failed_ids: str) -> Error:
    return _refusal(outcome.operation, "5.2", f"not attempted: operation {failed_ids} failed before it "
                                              "and enforceMsgSequence is set")


def _rolled_back(outcome: Outcome, failed_ids: str) -> Error:
    return _refusal(outcome.operation, "5.9", f"applied, then rolled back because operation(s) {failed_ids} "
                                              "failed and enforceTransactionalIntegrity is set")


def _errors_in_order(outcomes: list[Outcome], for_done: Callable[[Outcome, str], Error] | None) -> list[Error]:
    """One Error per operation that is not in effect, in the order of the set."""
    failed_ids = _failed_ids(outcomes)
    errors = []
    for outcome in outcomes:
        if outcome.status == "failed":
            errors.append(outcome.error)
        elif outcome.status == "not_attempted":
            errors.append(_not_attempted(outcome, failed_ids))
        elif for_done is not None:
            errors.append(for_done(outcome, failed_ids))
    return errors


def _done_ids(outcomes: list[Outcome]) -> list:
    return [ident for outcome in outcomes if outcome.status == "done" for ident in outcome.ids]


def summarise_independent(outcomes: list[Outcome]) -> Reply:
    """Without transactional integrity every operation stands on its own: OK, PARTIAL or FAILED."""
    errors = _errors_in_order(outcomes, for_done=None)
    done = _done_ids(outcomes)
    if not errors:
        return Reply(result=codes.OK, errors=[Error(code="0.0")], ids=done)
    if any(outcome.status == "done" for outcome in outcomes):
        return Reply(result=codes.PARTIAL, errors=errors, ids=done)
    return Reply(result=codes.FAILED, errors=errors)


class _SetAborted(Exception):
    """Raised inside the set's savepoint so that every operation of the set is rolled back."""

    def __init__(self, outcomes: list[Outcome]):
        super().__init__("operation set aborted")
        self.outcomes = outcomes


def run_all_or_nothing(run: SetRun, op_set: OperationSet) -> Reply:
    try:
        with run.uow.savepoint():
            outcomes = run_operations(run, op_set)
            if any(outcome.status != "done" for outcome in outcomes):
                raise _SetAborted(outcomes)
    except _SetAborted as aborted:
        return Reply(result=codes.FAILED, errors=_errors_in_order(aborted.outcomes, for_done=_rolled_back))
    return summarise_independent(outcomes)


def execute(run: SetRun) -> HandlerResult:
    """Answer an `execute` whose Payload holds an OperationSet.

    `run.scope` is the noun of Header/Noun (or of the typed service), or None for Header/Noun
    OperationSet on the generic service.
    """
    try:
        op_set = parse_operation_set(run.message.payload.operation_set)
    except MessageError as exc:
        return HandlerResult(Reply(result=codes.FAILED, errors=[Error(
            code=exc.code, level="FATAL", reason=exc.reason, details=f"at {exc.xpath}" if exc.xpath else None)]))
    if op_set.enforce_integrity:
        return HandlerResult(run_all_or_nothing(run, op_set))
    return HandlerResult(summarise_independent(run_operations(run, op_set)))


__all__ = ["OPERATION_SET_NOUN", "OPERATION_VERBS", "Lookup", "SetRun", "OperationSet", "SetOperation", "Checked",
           "Outcome", "parse_operation_set", "parse_operation", "check_operation", "apply_operation",
           "run_operations", "run_all_or_nothing", "summarise_independent", "execute"]
