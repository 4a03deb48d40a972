"""The words of a CLI line: quoting reads back exactly, and odd lines are clear problems."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsfix.nscli.syntax import SyntaxProblem, quote, split_lines, tokenize

LINE_FREE = st.text(st.characters(blacklist_characters="\n"), max_size=40)


@given(LINE_FREE)
def test_quote_is_the_exact_inverse_of_tokenize(text: str) -> None:
    [token] = tokenize(quote(text))
    assert token.text == text
    # A quoted value is never taken for an option, whatever it starts with.
    assert not token.is_option


@given(st.lists(LINE_FREE, min_size=1, max_size=6))
def test_a_command_of_quoted_words_splits_back_into_them(words: list[str]) -> None:
    line = "set service " + " ".join(quote(w) for w in words)
    assert [t.text for t in tokenize(line)[2:]] == words


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("svc_app_01", "svc_app_01"),
        ("svc web tier", '"svc web tier"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\path", "C:\\path"),
        ('back\\slash "q"', '"back\\\\slash \\"q\\""'),
        ("", '""'),
        ("-usip", '"-usip"'),
        ("q/x/", '"q/x/"'),
    ],
)
def test_names_are_quoted_only_when_needed(text: str, written: str) -> None:
    assert quote(text) == written


def test_a_line_break_cannot_be_quoted() -> None:
    with pytest.raises(ValueError, match="line break"):
        quote("a\nb")


def test_words_of_an_ns_conf_line() -> None:
    line = (
        'add service "svc web tier/app 1" web-01 HTTP 80 -comment "a \\"quoted\\" note" '
        "-weight -1 -usip YES"
    )
    tokens = tokenize(line)
    assert [t.text for t in tokens] == [
        "add", "service", "svc web tier/app 1", "web-01", "HTTP", "80",
        "-comment", 'a "quoted" note', "-weight", "-1", "-usip", "YES",
    ]  # fmt: skip
    assert [t.text for t in tokens if t.is_option] == ["-comment", "-weight", "-usip"]


def test_q_words_hold_quotes_without_escapes() -> None:
    tokens = tokenize('add cs policy p -rule q/HTTP.REQ.HOSTNAME.EQ("a b")/')
    assert tokens[-1].text == 'HTTP.REQ.HOSTNAME.EQ("a b")'


def test_an_unclosed_quote_says_where() -> None:
    with pytest.raises(SyntaxProblem, match="unclosed") as caught:
        tokenize('add server "web 01 10.0.0.1')
    assert caught.value.column == 12


def test_lines_of_crlf_and_lf_files() -> None:
    assert split_lines("a\r\nb\nc") == ["a", "b", "c"]
    assert split_lines("a\n") == ["a"]
