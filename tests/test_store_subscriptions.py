"""Event subscriptions and request routes: NULL as "any", specificity, duplicates refused."""
import pytest

from soapbus.store import DuplicateRoute, DuplicateSubscription, Route, Subscription

# tests/ may be a package (relative import) or a plain directory on sys.path (absolute import).
try:
    from .store_fixtures import (  # noqa: F401
        clock, clocked_store, open_store, pg_schema_prefix, store, store_target)
except ImportError:
    from store_fixtures import (  # noqa: F401
        clock, clocked_store, open_store, pg_schema_prefix, store, store_target)

CIS = "http://cis.example/ws"
OMS = "http://oms.example/ws"
MDM = "http://mdm.example/ws"


class Abort(Exception):
    """Raised inside a unit of work to make it roll back."""


def matching(store, noun, verb, context=None) -> list[str]:
    with store.unit_of_work() as uow:
        return [s.endpoint for s in uow.subscriptions_matching(noun, verb, context)]


def route(store, noun, verb=None, context=None) -> str | None:
    with store.unit_of_work() as uow:
        found = uow.route_for(noun, verb, context)
    return None if found is None else found.endpoint


# ---------------------------------------------------------------- subscriptions


def test_subscription_add_and_list(clocked_store, clock):
    added = clocked_store.subscription_add(CIS, "EndDevices", "created", "PRODUCTION", signed=True, style="typed")
    assert added == Subscription(id=added.id, endpoint=CIS, noun="EndDevices", verb="created",
                                 context="PRODUCTION", signed=True, style="typed", created_at=clock.current)
    anything = clocked_store.subscription_add(OMS)
    assert (anything.noun, anything.verb, anything.context, anything.signed, anything.style) == (
        None, None, None, False, "generic")
    assert clocked_store.subscription_list() == [added, anything]


def test_subscriptions_match_with_null_as_any(store):
    store.subscription_add(CIS, "EndDevices", "created")
    store.subscription_add(OMS, "EndDevices")  # every event verb, any context
    store.subscription_add(MDM)  # everything
    store.subscription_add("http://prod-only.example", "EndDevices", context="PRODUCTION")
    store.subscription_add("http://meters.example", "MeterReadings", "created")
    store.subscription_add("http://any-noun-changed.example", verb="changed")
    assert matching(store, "EndDevices", "created") == [CIS, OMS, MDM]
    assert matching(store, "EndDevices", "created", "PRODUCTION") == [CIS, OMS, MDM, "http://prod-only.example"]
    assert matching(store, "EndDevices", "changed", "TESTING") == [OMS, MDM, "http://any-noun-changed.example"]
    assert matching(store, "MeterReadings", "created") == [MDM, "http://meters.example"]
    assert matching(store, "UsagePoints", "deleted") == [MDM]


def test_an_event_without_context_matches_only_any_context(store):
    store.subscription_add(CIS, "EndDevices", context="STUDY")
    assert matching(store, "EndDevices", "created") == []
    assert matching(store, "EndDevices", "created", "") == []
    assert matching(store, "EndDevices", "created", "STUDY") == [CIS]


def test_matching_is_exact(store):
    store.subscription_add(CIS, "EndDevices", "created")
    assert matching(store, "enddevices", "created") == []
    assert matching(store, "EndDevices", "create") == []


def test_duplicate_subscription_is_refused(store):
    store.subscription_add(CIS, "EndDevices", "created")
    store.subscription_add(CIS, "EndDevices")
    with pytest.raises(DuplicateSubscription) as raised:
        store.subscription_add(CIS, "EndDevices", "created", signed=True, style="typed")
    assert (raised.value.endpoint, raised.value.noun, raised.value.verb, raised.value.context) == (
        CIS, "EndDevices", "created", None)
    with pytest.raises(DuplicateSubscription):
        store.subscription_add(CIS, "EndDevices", "", "")  # '' is "any", the same as None
    store.subscription_add(OMS, "EndDevices", "created")  # another endpoint may
    assert len(store.subscription_list()) == 3


def test_duplicate_subscription_leaves_the_transaction_usable(store):
    with store.unit_of_work() as uow:
        uow.subscription_add(CIS, "EndDevices")
        with pytest.raises(DuplicateSubscription):
            uow.subscription_add(CIS, "EndDevices")
        uow.subscription_add(OMS, "EndDevices")
    assert [s.endpoint for s in store.subscription_list()] == [CIS, OMS]


def test_subscription_added_in_a_unit_rolls_back_with_it(store):
    with pytest.raises(Abort):
        with store.unit_of_work() as uow:
            uow.subscription_add(CIS, "EndDevices")
            raise Abort
    assert store.subscription_list() == []


def test_subscription_remove(store):
    kept = store.subscription_add(CIS, "EndDevices")
    gone = store.subscription_add(OMS, "EndDevices")
    assert store.subscription_remove(gone.id) is True
    assert store.subscription_remove(gone.id) is False
    assert store.subscription_list() == [kept]
    assert matching(store, "EndDevices", "created") == [CIS]
    with store.unit_of_work() as uow:
        assert uow.subscription_remove(kept.id) is True
    assert store.subscription_list() == []


@pytest.mark.parametrize("args, kwargs, message", [
    (("",), {}, "endpoint"),
    ((CIS,), {"style": "soap"}, "style"),
])
def test_bad_subscriptions_are_refused(store, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        store.subscription_add(*args, **kwargs)


# ---------------------------------------------------------------- routes


def test_route_add_and_list(clocked_store, clock):
    added = clocked_store.route_add("EndDevices", CIS, verb="create", context="PRODUCTION", signed=True,
                                    style="typed")
    assert added == Route(id=added.id, noun="EndDevices", verb="create", context="PRODUCTION", endpoint=CIS,
                          style="typed", signed=True, created_at=clock.current)
    default = clocked_store.route_add("EndDevices", OMS)
    assert (default.verb, default.context, default.style, default.signed) == (None, None, "generic", False)
    assert clocked_store.route_list() == [added, default]


def test_most_specific_route_wins(store):
    store.route_add("EndDevices", "http://noun-only")
    store.route_add("EndDevices", "http://context", context="TESTING")
    store.route_add("EndDevices", "http://verb", verb="create")
    store.route_add("EndDevices", "http://verb+context", verb="create", context="TESTING")
    assert route(store, "EndDevices", "create", "TESTING") == "http://verb+context"
    assert route(store, "EndDevices", "create", "PRODUCTION") == "http://verb"
    assert route(store, "EndDevices", "create") == "http://verb"
    assert route(store, "EndDevices", "change", "TESTING") == "http://context"
    assert route(store, "EndDevices", "change") == "http://noun-only"
    assert route(store, "EndDevices", None, None) == "http://noun-only"


def test_verb_beats_context(store):
    store.route_add("EndDevices", "http://context", context="TESTING")
    store.route_add("EndDevices", "http://verb", verb="create")
    assert route(store, "EndDevices", "create", "TESTING") == "http://verb"


def test_no_route_for_another_noun(store):
    store.route_add("EndDevices", CIS, verb="create")
    assert route(store, "MeterReadings", "create") is None
    assert route(store, "EndDevices", "change") is None  # the only route needs verb create


def test_duplicate_route_is_refused(store):
    store.route_add("EndDevices", CIS, verb="create")
    with pytest.raises(DuplicateRoute) as raised:
        store.route_add("EndDevices", OMS, verb="create")
    assert (raised.value.noun, raised.value.verb, raised.value.context) == ("EndDevices", "create", None)
    store.route_add("EndDevices", OMS)
    with pytest.raises(DuplicateRoute):
        store.route_add("EndDevices", MDM, verb="", context="")  # '' is "any", the same as None
    store.route_add("EndDevices", OMS, verb="create", context="STUDY")
    assert len(store.route_list()) == 3


def test_route_remove(store):
    specific = store.route_add("EndDevices", CIS, verb="create")
    store.route_add("EndDevices", OMS)
    assert route(store, "EndDevices", "create") == CIS
    assert store.route_remove(specific.id) is True
    assert store.route_remove(specific.id) is False
    assert route(store, "EndDevices", "create") == OMS


@pytest.mark.parametrize("args, kwargs, message", [
    (("", CIS), {}, "noun"),
    (("EndDevices", ""), {}, "endpoint"),
    (("EndDevices", CIS), {"style": "rest"}, "style"),
])
def test_bad_routes_are_refused(store, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        store.route_add(*args, **kwargs)
