"""Name and query encoding: what reaches the appliance decodes back to what the caller meant."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from nsfix.nitro.encoding import build_target, encode_attrs, encode_name, encode_pairs

# Names as the appliance stores them: any text without lone surrogates (not encodable as UTF-8).
names = st.text(st.characters(codec="utf-8"), min_size=1)


def wire_url(target: str) -> str:
    """The URL exactly as requests would put it on the wire."""
    return requests.Request("GET", "https://127.0.0.1" + target).prepare().url or ""


def test_documented_example_is_encoded_twice() -> None:
    assert encode_name("a b/c") == "a%2520b%252Fc"


@given(names)
def test_any_name_decodes_twice_to_itself(name: str) -> None:
    assert unquote(unquote(encode_name(name))) == name


@given(names)
def test_any_name_survives_requests_url_preparation(name: str) -> None:
    url = wire_url(build_target("config", "service", name))
    prefix = "https://127.0.0.1/nitro/v1/config/service/"
    assert url.startswith(prefix)
    segment = url[len(prefix) :]
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert unquote(unquote(segment)) == name


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_not_swallowed_as_path_segments(name: str) -> None:
    url = wire_url(build_target("config", "server", name))
    assert url.startswith("https://127.0.0.1/nitro/v1/config/server/")
    assert unquote(unquote(url.rsplit("/", 1)[1])) == name


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), names, min_size=1))
def test_query_values_are_encoded_once_with_literal_keys_and_separators(
    pairs: dict[str, str],
) -> None:
    encoded = encode_pairs(pairs)
    pieces = encoded.split(",")
    assert len(pieces) == len(pairs)
    decoded = dict(piece.split(":", 1) for piece in pieces)
    assert {key: unquote(value) for key, value in decoded.items()} == pairs


def test_args_filter_attrs_layout() -> None:
    target = build_target(
        "config",
        "lbvserver_service_binding",
        "vs 1",
        args={"servicename": "svc:1,x"},
        filter={"ipv46": "10.0.0.1", "port": 80},
        attrs=["name", "weight"],
    )
    assert target == (
        "/nitro/v1/config/lbvserver_service_binding/vs%25201"
        "?args=servicename:svc%3A1%2Cx&filter=ipv46:10.0.0.1,port:80&attrs=name,weight"
    )
    # requests leaves the already-encoded query alone.
    assert wire_url(target).endswith(target)


def test_booleans_are_lowercase_words() -> None:
    assert encode_pairs({"all": True}) == "all:true"


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        (build_target, {"kind": "config", "resource": "service/../nsconfig"}),
        (build_target, {"kind": "config", "resource": "service?x=1"}),
        (build_target, {"kind": "nitro", "resource": "service"}),
        (encode_name, {"name": ""}),
        (encode_name, {"name": "bad\ud800"}),
        (encode_pairs, {"pairs": {"a b": "x"}}),
        (encode_pairs, {"pairs": {}}),
        (encode_attrs, {"attrs": ["name", "x,y"]}),
        (encode_attrs, {"attrs": []}),
        (build_target, {"kind": "config", "resource": "service", "extra": [("action", "a&b=c")]}),
    ],
)
def test_unsafe_identifiers_are_refused(call: object, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        call(**kwargs)  # type: ignore[operator]


def test_empty_args_and_filter_are_left_out() -> None:
    assert build_target("config", "service", args={}, filter={}) == "/nitro/v1/config/service"
