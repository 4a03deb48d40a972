"""How the CAB report speaks: counts, lists, outcome and resource names, section references."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from nsfix.flow import Outcome
from nsfix.planner import Plan

OUTCOME_WORDS: Final = {
    Outcome.DIRECT_RETURN: "the reply goes straight to the client (direct server return)",
    Outcome.VIA_NETSCALER: "the reply comes back through the NetScaler",
    Outcome.LOOP: "the reply goes back to the NetScaler instead of the client and loops",
    Outcome.ASYMMETRIC: "the reply bypasses the NetScaler and the client resets the connection",
    Outcome.ARP_BYPASS: "the server answers ARP for the VIP, so traffic can bypass the NetScaler",
    Outcome.MAC_NOT_LEARNED: "the NetScaler never learns the server's MAC and loops the "
    "traffic to itself",
    Outcome.NO_LAYER2: "the NetScaler cannot reach the server at layer 2",
    Outcome.UNDETERMINED: "the path cannot be traced from the data",
}

SECTIONS: Final = (
    "summary",
    "record",
    "findings",
    "changes",
    "paths",
    "refused",
    "guidance",
    "server-tasks",
    "prechecks",
    "rollback",
    "verification",
    "approvals",
)


def section_ref(key: str) -> str:
    """`section N`: sections refer to each other by the number the report prints."""
    return f"section {SECTIONS.index(key) + 1}"


def appliance(plan: Plan) -> str:
    return str(plan.target.get("hostname") or plan.target.get("url") or "the appliance")


def appliance_words(plan: Plan) -> str:
    """`ns01 (https://10.0.0.11)`, or just the URL when the appliance reported no hostname."""
    hostname = plan.target.get("hostname")
    url = str(plan.target.get("url") or "")
    if hostname:
        return f"{hostname} ({url})" if url else str(hostname)
    return f"at {url}" if url else "(unknown address)"


def count(number: int, word: str) -> str:
    if number == 1:
        return f"1 {word}"
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{number} {plural}"


def join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
