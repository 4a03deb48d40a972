"""The words of the NetScaler CLI language: split a command line into tokens, quote a value back.

`ns.conf`, `show ns runningConfig` and NITRO's `nsrunningconfig` print one command a line.
Words are separated by blanks; a word with blanks or quotes is written in double quotes, in which
`\\"` is a quote and `\\\\` a backslash (any other backslash is itself). NetScaler also accepts
`q/.../` words (any of the delimiters below) for expressions full of quotes. `quote` is the exact
inverse of `tokenize`: `tokenize(quote(s))` gives back `s` for every text without a line break.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

BLANKS: Final = frozenset(" \t")
Q_DELIMITERS: Final = {
    "/": "/",
    "{": "}",
    "<": ">",
    "|": "|",
    "~": "~",
    "$": "$",
    "^": "^",
    "+": "+",
    "=": "=",
    "&": "&",
    "%": "%",
    "@": "@",
    "`": "`",
    "?": "?",
}
"""The delimiters of a `q` word (`q/a "b" c/`) and the character that closes each."""


@dataclass(frozen=True)
class Token:
    """One word of a command: its text, and whether it was written quoted (so `"-x"` is a
    value, never an option)."""

    text: str
    quoted: bool = False
    column: int = 0
    """Where the word starts on its line, from 1."""

    @property
    def is_option(self) -> bool:
        """`-name`, not a quoted word and not a negative number (`-weight -1` is no option)."""
        text = self.text
        return (
            not self.quoted
            and len(text) > 1
            and text[0] == "-"
            and not text[1].isdigit()
            and text[1] != "."
        )


class SyntaxProblem(ValueError):
    """A line that is not a well-formed command (an unclosed quote); says where."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


def tokenize(line: str) -> list[Token]:
    """The words of one command line. An unclosed quote is a SyntaxProblem."""
    tokens: list[Token] = []
    index = 0
    end = len(line)
    while index < end:
        if line[index] in BLANKS:
            index += 1
            continue
        start = index
        if (
            line[index] == "q"
            and index + 1 < end
            and line[index + 1] in Q_DELIMITERS
            and _q_closes(line, index)
        ):
            close = Q_DELIMITERS[line[index + 1]]
            stop = line.index(close, index + 2)
            tokens.append(Token(line[index + 2 : stop], True, start + 1))
            index = stop + 1
            continue
        parts: list[str] = []
        quoted = False
        while index < end and line[index] not in BLANKS:
            char = line[index]
            if char == '"':
                quoted = True
                index += 1
                while True:
                    if index >= end:
                        raise SyntaxProblem("unclosed double quote", start + 1)
                    char = line[index]
                    if char == "\\" and index + 1 < end and line[index + 1] in '"\\':
                        parts.append(line[index + 1])
                        index += 2
                    elif char == '"':
                        index += 1
                        break
                    else:
                        parts.append(char)
                        index += 1
            else:
                parts.append(char)
                index += 1
        tokens.append(Token("".join(parts), quoted, start + 1))
    return tokens


def _q_closes(line: str, index: int) -> bool:
    """A `q` word is one only when its closing delimiter follows on the line and ends a word."""
    close = Q_DELIMITERS[line[index + 1]]
    stop = line.find(close, index + 2)
    return stop >= 0 and (stop + 1 == len(line) or line[stop + 1] in BLANKS)


def needs_quotes(text: str) -> bool:
    """Whether `text` written bare would read back as something else."""
    if not text:
        return True
    if any(char in BLANKS or char == '"' for char in text):
        return True
    if text[0] in "-#":
        return True
    if text[0] == "q" and len(text) > 1 and text[1] in Q_DELIMITERS:
        return True
    # A line ends at a line feed; a carriage return at a line's end is dropped with CRLF files.
    return "\r" in text


def quote(text: str) -> str:
    """`text` as one word of a CLI command: bare when that reads back the same, else quoted."""
    if "\n" in text:
        raise ValueError("a line break cannot be written in a CLI command")
    if not needs_quotes(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_lines(text: str) -> list[str]:
    """The lines of a configuration text, without their line ends (LF or CRLF)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]
