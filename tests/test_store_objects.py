"""The CIM object store: profile items as XML bytes, keyed by (noun, key), found by name."""
import pytest

from soapbus.store import DuplicateObject, StoredObject, UnknownObject

# tests/ may be a package (relative import) or a plain directory on sys.path (absolute import).
try:
    from .store_fixtures import (  # noqa: F401
        clock, clocked_store, open_store, pg_schema_prefix, store, store_target)
except ImportError:
    from store_fixtures import (  # noqa: F401
        clock, clocked_store, open_store, pg_schema_prefix, store, store_target)

NOUN = "MeterReadings"
ITEM = "MeterReading"


def reading(key: str, value: str = "1") -> bytes:
    return f"<MeterReading><mRID>{key}</mRID><value>{value}</value></MeterReading>".encode()


def insert(store, key: str, names=(), noun: str = NOUN) -> StoredObject:
    with store.unit_of_work() as uow:
        return uow.object_insert(noun, key, ITEM, reading(key), names=names)


def get(store, key: str, noun: str = NOUN) -> StoredObject | None:
    with store.unit_of_work() as uow:
        return uow.object_get(noun, key)


def test_insert_then_get(clocked_store, clock):
    inserted = insert(clocked_store, "mr-1", names=[("Meter 1", "serialNumber"), ("M1", None)])
    assert inserted == StoredObject(
        noun=NOUN, key="mr-1", item_type=ITEM, xml=reading("mr-1"), version=1, status="active",
        created_at=clock.current, updated_at=clock.current, names=(("Meter 1", "serialNumber"), ("M1", None)))
    assert get(clocked_store, "mr-1") == inserted
    assert get(clocked_store, "mr-2") is None


def test_duplicate_insert_inside_a_transaction_that_continues(store):
    with store.unit_of_work() as uow:
        uow.object_insert(NOUN, "mr-1", ITEM, reading("mr-1", "first"))
        with pytest.raises(DuplicateObject) as raised:
            uow.object_insert(NOUN, "mr-1", ITEM, reading("mr-1", "second"), names=[("dup", None)])
        uow.object_insert(NOUN, "mr-2", ITEM, reading("mr-2"))
    assert (raised.value.noun, raised.value.key) == (NOUN, "mr-1")
    assert get(store, "mr-1").xml == reading("mr-1", "first")
    assert get(store, "mr-1").names == ()
    assert get(store, "mr-2") is not None


def test_duplicate_insert_in_a_later_transaction(store):
    insert(store, "mr-1")
    with pytest.raises(DuplicateObject):
        insert(store, "mr-1")


def test_same_key_under_another_noun_is_another_object(store):
    insert(store, "shared", noun="MeterReadings")
    insert(store, "shared", noun="EndDevices")
    assert get(store, "shared", noun="EndDevices").noun == "EndDevices"


def test_update_replaces_xml_and_names_and_bumps_version(clocked_store, clock):
    created = insert(clocked_store, "mr-1", names=[("old", "serialNumber")])
    clock.advance(hours=1)
    with clocked_store.unit_of_work() as uow:
        updated = uow.object_update(NOUN, "mr-1", reading("mr-1", "2"), names=[("new", "serialNumber")])
    assert (updated.version, updated.xml, updated.names) == (2, reading("mr-1", "2"), (("new", "serialNumber"),))
    assert (updated.created_at, updated.updated_at) == (created.created_at, clock.current)
    with clocked_store.unit_of_work() as uow:
        assert uow.object_find_by_name(NOUN, "old") == []
        assert [o.key for o in uow.object_find_by_name(NOUN, "new")] == ["mr-1"]


def test_update_without_names_keeps_them(store):
    insert(store, "mr-1", names=[("Meter 1", None)])
    with store.unit_of_work() as uow:
        updated = uow.object_update(NOUN, "mr-1", reading("mr-1", "2"), item_type="MeterReadingV2")
        assert (updated.names, updated.item_type) == ((("Meter 1", None),), "MeterReadingV2")
        assert uow.object_update(NOUN, "mr-1", reading("mr-1", "3")).version == 3


def test_update_of_unknown_object(store):
    with store.unit_of_work() as uow:
        with pytest.raises(UnknownObject):
            uow.object_update(NOUN, "nobody", reading("nobody"))


def test_status_changes_are_versioned(store):
    insert(store, "mr-1")
    with store.unit_of_work() as uow:
        canceled = uow.object_set_status(NOUN, "mr-1", "canceled")
        assert (canceled.status, canceled.version) == ("canceled", 2)
        assert uow.object_set_status(NOUN, "mr-1", "closed").status == "closed"
        with pytest.raises(ValueError, match="status"):
            uow.object_set_status(NOUN, "mr-1", "deleted")
        with pytest.raises(UnknownObject):
            uow.object_set_status(NOUN, "nobody", "closed")
    assert get(store, "mr-1").status == "closed"


def test_executed_status_passes_the_check_constraint(store):
    # SwitchingPlans and Controls are executed; the database's CHECK must accept it as well.
    insert(store, "plan-1", noun="SwitchingPlans")
    with store.unit_of_work() as uow:
        assert uow.object_set_status("SwitchingPlans", "plan-1", "executed").status == "executed"
    assert get(store, "plan-1", noun="SwitchingPlans").status == "executed"


def test_delete_removes_object_and_names(store):
    insert(store, "mr-1", names=[("Meter 1", None)])
    with store.unit_of_work() as uow:
        assert uow.object_delete(NOUN, "mr-1") is True
        assert uow.object_delete(NOUN, "mr-1") is False
        assert uow.object_find_by_name(NOUN, "Meter 1") == []
    assert insert(store, "mr-1").version == 1  # a new life after deletion


def test_find_by_name_with_and_without_name_type(store):
    insert(store, "mr-2", names=[("Feeder 7", "feeder")])
    insert(store, "mr-1", names=[("Feeder 7", "feeder"), ("Meter 1", "serialNumber")])
    insert(store, "mr-3", names=[("Feeder 7", "substation")])
    insert(store, "ed-1", names=[("Feeder 7", "feeder")], noun="EndDevices")
    with store.unit_of_work() as uow:
        assert [o.key for o in uow.object_find_by_name(NOUN, "Feeder 7")] == ["mr-1", "mr-2", "mr-3"]
        assert [o.key for o in uow.object_find_by_name(NOUN, "Feeder 7", "feeder")] == ["mr-1", "mr-2"]
        assert uow.object_find_by_name(NOUN, "Feeder 7", "serialNumber") == []
        assert uow.object_find_by_name(NOUN, "Feeder 8") == []
        found = uow.object_find_by_name(NOUN, "Meter 1", "serialNumber")
    assert [(o.key, o.names) for o in found] == [("mr-1", (("Feeder 7", "feeder"), ("Meter 1", "serialNumber")))]


def test_repeated_names_are_stored_once(store):
    stored = insert(store, "mr-1", names=[("Meter 1", None), ("Meter 1", None), ("Meter 1", "")])
    assert stored.names == (("Meter 1", None),)


def test_list_orders_by_key_and_filters_by_keys(store):
    for key in ("mr-3", "mr-1", "mr-2"):
        insert(store, key, names=[(f"name of {key}", None)])
    insert(store, "ed-1", noun="EndDevices")
    with store.unit_of_work() as uow:
        assert [o.key for o in uow.object_list(NOUN)] == ["mr-1", "mr-2", "mr-3"]
        assert [o.key for o in uow.object_list(NOUN, keys=["mr-3", "mr-1", "missing"])] == ["mr-1", "mr-3"]
        assert uow.object_list(NOUN, keys=[]) == []
        assert [o.key for o in uow.object_list(NOUN, limit=2)] == ["mr-1", "mr-2"]
        listed = uow.object_list(NOUN, keys=["mr-2"])
    assert listed[0].names == (("name of mr-2", None),)


def test_list_by_time_window_uses_updated_at(clocked_store, clock):
    t0 = clock.current
    insert(clocked_store, "mr-1")
    t1 = clock.advance(hours=1)
    insert(clocked_store, "mr-2")
    t2 = clock.advance(hours=1)
    insert(clocked_store, "mr-3")
    t3 = clock.advance(hours=1)
    with clocked_store.unit_of_work() as uow:
        uow.object_update(NOUN, "mr-1", reading("mr-1", "late"))  # mr-1 now last updated at t3
    with clocked_store.unit_of_work() as uow:
        def keys_in(**bounds) -> list[str]:
            return [o.key for o in uow.object_list(NOUN, **bounds)]

        assert keys_in(since=t0) == ["mr-1", "mr-2", "mr-3"]
        assert keys_in(since=t1, until=t3) == ["mr-2", "mr-3"]  # until is exclusive
        assert keys_in(until=t2) == ["mr-2"]
        assert keys_in(since=t2) == ["mr-1", "mr-3"]  # since is inclusive
        assert keys_in(since=t3) == ["mr-1"]
        assert keys_in(keys=["mr-1", "mr-2"], until=t3) == ["mr-2"]


@pytest.mark.parametrize("noun, key", [("", "k"), (NOUN, "")])
def test_noun_and_key_are_required(store, noun, key):
    with store.unit_of_work() as uow:
        with pytest.raises(ValueError):
            uow.object_insert(noun, key, ITEM, b"<x/>")


def test_bad_names_store_nothing_and_the_transaction_goes_on(store):
    insert(store, "mr-1", names=[("Meter 1", None)])
    with store.unit_of_work() as uow:
        with pytest.raises(ValueError, match="name"):
            uow.object_insert(NOUN, "mr-2", ITEM, reading("mr-2"), names=[("ok", None), ("", "serialNumber")])
        with pytest.raises(DuplicateObject):  # a duplicate is still reported as one, bad names or not
            uow.object_insert(NOUN, "mr-1", ITEM, reading("mr-1"), names=[("", None)])
        with pytest.raises(ValueError, match="name"):
            uow.object_update(NOUN, "mr-1", reading("mr-1", "2"), names=[("", None)])
        with pytest.raises(UnknownObject):  # and an unknown object as unknown
            uow.object_update(NOUN, "nobody", reading("nobody"), names=[("", None)])
        uow.object_insert(NOUN, "mr-3", ITEM, reading("mr-3"))
    assert get(store, "mr-2") is None
    assert (get(store, "mr-1").version, get(store, "mr-1").names) == (1, (("Meter 1", None),))
    assert get(store, "mr-3") is not None


class SmartStr(str):
    """Like lxml's smart strings: a str subclass that would keep its document alive."""


def test_writes_return_what_a_read_returns(clocked_store):
    names = [(SmartStr(f"name {n}"), SmartStr("type") if n % 2 else None) for n in range(7, 0, -1)]
    with clocked_store.unit_of_work() as uow:
        inserted = uow.object_insert(SmartStr(NOUN), SmartStr("mr-1"), SmartStr(ITEM), bytearray(reading("mr-1")),
                                     names=names)
        assert uow.object_get(NOUN, "mr-1") == inserted
        updated = uow.object_update(NOUN, "mr-1", reading("mr-1", "2"), names=names[::-1], item_type="Other")
        assert uow.object_get(NOUN, "mr-1") == updated
        closed = uow.object_set_status(NOUN, "mr-1", "closed")
        assert uow.object_get(NOUN, "mr-1") == closed
    assert get(clocked_store, "mr-1") == closed
    plain = (inserted.noun, inserted.key, inserted.item_type, inserted.names[0][0], inserted.names[0][1])
    assert [type(value) for value in plain] == [str] * 5
    assert type(inserted.xml) is bytes
    assert inserted.names == tuple(names) and closed.names == tuple(names[::-1])
    assert (updated.version, closed.version, closed.item_type, closed.xml) == (2, 3, "Other", reading("mr-1", "2"))


def test_updates_without_update_returning(store, monkeypatch):
    """Where the database has no UPDATE ... RETURNING (SQLite before 3.35) the row is read back."""
    insert(store, "mr-1", names=[("Meter 1", None)])
    monkeypatch.setattr(store.engine.dialect, "update_returning", False)
    with store.unit_of_work() as uow:
        updated = uow.object_update(NOUN, "mr-1", reading("mr-1", "2"))
        assert (updated.version, updated.xml, updated.names) == (2, reading("mr-1", "2"), (("Meter 1", None),))
        assert uow.object_set_status(NOUN, "mr-1", "canceled") == uow.object_get(NOUN, "mr-1")
        with pytest.raises(UnknownObject):
            uow.object_update(NOUN, "nobody", reading("nobody"), names=[("x", None)])
        with pytest.raises(UnknownObject):
            uow.object_set_status(NOUN, "nobody", "closed")


def test_object_iter_reads_in_batches_in_key_order_each_object_once(store):
    # 23 objects streamed 5 at a time, while other statements (the names) run in the same transaction
    for i in range(23):
        names = [(f"meter-{i % 4}", "series.Meter"), ("kWh", "series.ReadingType")]
        if i % 3 == 0:
            names.append((f"alias-{i}", None))
        insert(store, f"v-{i:03d}", names=names)
    insert(store, "other-noun", names=[("meter-1", "series.Meter")], noun="EndDeviceEvents")
    with store.unit_of_work() as uow:
        everything = [obj.key for obj in uow.object_iter(NOUN, batch=5)]
        by_meter = list(uow.object_iter(NOUN, [("meter-1", "series.Meter"), ("meter-2", "series.Meter")], batch=5))
        by_type_or_any = [obj.key for obj in uow.object_iter(NOUN, [("kWh", "series.ReadingType"),
                                                                     ("alias-3", None)], batch=4)]
        wrong_type = list(uow.object_iter(NOUN, [("meter-1", "series.ReadingType")], batch=5))
        nothing_named = list(uow.object_iter(NOUN, [], batch=5))
        # the streamed reads leave the transaction as it was: writes and savepoints go on in it
        with uow.savepoint():
            uow.object_insert(NOUN, "after-the-reads", ITEM, reading("after-the-reads"))
    assert get(store, "after-the-reads") is not None
    assert everything == [f"v-{i:03d}" for i in range(23)]
    assert [obj.key for obj in by_meter] == [f"v-{i:03d}" for i in range(23) if i % 4 in (1, 2)]
    assert ("kWh", "series.ReadingType") in by_meter[0].names and by_meter[0].xml == reading(by_meter[0].key)
    assert by_type_or_any == everything  # an object matching two names comes once
    assert wrong_type == [] and nothing_named == []
