"""NITRO REST client of nsfix: sessions, reads, described writes and their one door, errors."""

from nsfix.nitro.client import Credentials, NitroClient, RequestStats
from nsfix.nitro.console import ConsoleRoute, ManagedInstance, RouteError, choose_instance
from nsfix.nitro.encoding import build_target, encode_name, encode_pairs
from nsfix.nitro.errors import (
    NOT_ATTEMPTED,
    ItemResult,
    NitroAuthError,
    NitroBulkError,
    NitroError,
    NitroExists,
    NitroInstanceUnreachable,
    NitroNotAuthorized,
    NitroNotFound,
    NitroPlainHttp,
    NitroProtocolError,
    NitroSessionExpired,
    NitroTransportError,
)
from nsfix.nitro.replies import SESSION_EXPIRED_CODES
from nsfix.nitro.writer import NitroWriter
from nsfix.nitro.writes import ONERROR_MODES, SAFE_ACTIONS, WriteRequest

__all__ = [
    "NOT_ATTEMPTED",
    "ONERROR_MODES",
    "SAFE_ACTIONS",
    "SESSION_EXPIRED_CODES",
    "ConsoleRoute",
    "Credentials",
    "ItemResult",
    "ManagedInstance",
    "NitroAuthError",
    "NitroBulkError",
    "NitroClient",
    "NitroError",
    "NitroExists",
    "NitroInstanceUnreachable",
    "NitroNotAuthorized",
    "NitroNotFound",
    "NitroPlainHttp",
    "NitroProtocolError",
    "NitroSessionExpired",
    "NitroTransportError",
    "NitroWriter",
    "RequestStats",
    "RouteError",
    "WriteRequest",
    "build_target",
    "choose_instance",
    "encode_name",
    "encode_pairs",
]
