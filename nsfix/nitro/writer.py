"""The one door through which a write reaches the appliance: NitroWriter, held by the executor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nsfix.nitro.errors import ItemResult
from nsfix.nitro.replies import ReplyReader
from nsfix.nitro.transport import Call
from nsfix.nitro.writes import WriteRequest


class NitroWriter:
    """Sends WriteRequests through one client's session; get it with NitroClient.writer().

    The client itself only reads, so any write passes here; outside nsfix.nitro only the
    executor may hold a writer (tests/test_write_door.py holds the rest of nsfix to that).
    """

    def __init__(self, request: Callable[[Call], dict[str, Any]], replies: ReplyReader) -> None:
        self._request = request
        self._replies = replies

    def send(self, write: WriteRequest) -> list[ItemResult]:
        """Send a described write; return one ItemResult per record (all ok, or warnings).

        Raises the mapped NitroError on failure; a partial bulk failure raises NitroBulkError,
        whose .results hold one ItemResult per record.
        """
        call = Call(
            write.method,
            write.resource,
            write.target,
            body=write.body,
            headers=write.headers,
            idempotent=write.idempotent,
            is_write=True,
            records=write.records,
        )
        return self._replies.write_results(self._request(call), write.records)
