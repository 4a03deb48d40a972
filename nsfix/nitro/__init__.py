"""NITRO REST client of nsfix: sessions, reads, writes, retries and typed errors."""

from nsfix.nitro.client import (
    ONERROR_MODES,
    SAFE_ACTIONS,
    SESSION_EXPIRED_CODES,
    Credentials,
    NitroClient,
    RequestStats,
    WriteRequest,
)
from nsfix.nitro.encoding import build_target, encode_name, encode_pairs
from nsfix.nitro.errors import (
    NOT_ATTEMPTED,
    ItemResult,
    NitroAuthError,
    NitroBulkError,
    NitroError,
    NitroExists,
    NitroNotAuthorized,
    NitroNotFound,
    NitroProtocolError,
    NitroSessionExpired,
    NitroTransportError,
)

__all__ = [
    "NOT_ATTEMPTED",
    "ONERROR_MODES",
    "SAFE_ACTIONS",
    "SESSION_EXPIRED_CODES",
    "Credentials",
    "ItemResult",
    "NitroAuthError",
    "NitroBulkError",
    "NitroClient",
    "NitroError",
    "NitroExists",
    "NitroNotAuthorized",
    "NitroNotFound",
    "NitroProtocolError",
    "NitroSessionExpired",
    "NitroTransportError",
    "RequestStats",
    "WriteRequest",
    "build_target",
    "encode_name",
    "encode_pairs",
]
