"""The resource table is consistent with itself and with what the rest of nsfix does with it."""

from __future__ import annotations

import pytest

from nsfix.resources import (
    APPLIANCE_WIDE,
    BY_NAME,
    INVENTORY,
    RESOURCES,
    Shape,
    UnknownResource,
    key_of,
    resource,
)


def test_every_resource_appears_once() -> None:
    names = [r.name for r in RESOURCES]
    assert len(names) == len(set(names)) == len(BY_NAME)


@pytest.mark.parametrize("name", [r.name for r in INVENTORY])
def test_inventory_reads_the_key_of_every_listed_resource(name: str) -> None:
    # Without its key in the reply, a record cannot be told from its neighbours.
    r = resource(name)
    assert r.read is not None
    if r.read.shape is not Shape.SINGLETON and r.binding is None:
        assert r.key in r.read.attrs


@pytest.mark.parametrize("name", [r.name for r in RESOURCES if r.updatable])
def test_inventory_reads_every_attribute_nsfix_may_write(name: str) -> None:
    # A change records the value it replaces; that value comes from the inventory read.
    r = resource(name)
    assert r.read is not None
    assert r.updatable <= set(r.read.attrs)
    assert r.source_ip <= r.updatable
    assert r.state is not None
    assert r.state in r.read.attrs


@pytest.mark.parametrize("name", [r.name for r in RESOURCES if r.binding is not None])
def test_bindings_name_a_known_parent_and_read_what_identifies_them(name: str) -> None:
    r = resource(name)
    assert r.binding is not None
    assert r.read is not None
    assert r.binding.parent in BY_NAME
    assert r.binding.parent_key in r.read.attrs
    assert set(r.binding.identity) <= set(r.read.attrs)
    assert r.read.shape is Shape.BINDINGS


def test_keys_and_appliance_wide_records() -> None:
    assert key_of("servicegroup") == "servicegroupname"
    assert key_of("service") == key_of("lbvserver") == "name"
    assert {"nsversion", "nshostname", "hanode", "nspartition"} == APPLIANCE_WIDE
    assert [r.name for r in INVENTORY][:1] == ["nsversion"]


def test_an_unknown_resource_is_named_in_the_error() -> None:
    with pytest.raises(UnknownResource, match="lbvserverx"):
        resource("lbvserverx")
