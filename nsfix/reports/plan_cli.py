"""A plan as NetScaler CLI commands: the text an operator pastes, and the CAB report's blocks.

The text is for the CLI or a NetScaler Console configuration job. The apply commands come in the
order `nsfix apply` writes them (the canary first), the rollback commands newest first, as `nsfix
rollback` writes them; refused objects are comments saying why. Nothing prompts: `save ns config`
is left as a commented suggestion, to run once the change is verified.
"""

from __future__ import annotations

from collections.abc import Iterable

from nsfix import __version__
from nsfix.model import DEFAULT_PARTITION
from nsfix.nscli.commands import UnwritableValue, command, word
from nsfix.planfile import plan_partition
from nsfix.planner import Change, Plan
from nsfix.reports.cab_words import appliance_words, count
from nsfix.reports.document import Block, Code, CodeBlock, Heading, Paragraph
from nsfix.reports.text import visible

ROLLBACK_MARK = "# "
"""What starts each rollback command in the text: pasted whole, the text only applies."""


def partition_switch(plan: Plan) -> list[str]:
    """`switch ns partition P` first, where the plan is for an admin partition."""
    partition = plan_partition(plan)
    return [] if partition == DEFAULT_PARTITION else [f"switch ns partition {word(partition)}"]


def apply_commands(plan: Plan) -> list[str]:
    """The commands that make the plan's changes, in apply's order."""
    return [*partition_switch(plan), *(command(c.operation) for c in plan.changes)]


def rollback_commands(plan: Plan) -> list[str]:
    """The commands that undo the plan's changes, newest first."""
    return [*partition_switch(plan), *(command(c.inverse) for c in reversed(plan.changes))]


def render_plan_cli(plan: Plan, *, digest: str) -> str:
    """The whole text: a header, the apply commands, the refusals and the rollback, commented
    where a paste must not run them."""
    lines = [
        "# nsfix plan as NetScaler CLI commands, for the CLI or a NetScaler Console "
        "configuration job.",
        f"# Appliance: {visible(appliance_words(plan))}, partition {visible(plan_partition(plan))}",
        f"# Plan: {digest}, planned {plan.created_at.isoformat(timespec='seconds')} by nsfix "
        f"{__version__}",
        "# Pasted, these commands check nothing first, write no journal and verify nothing;",
        "# `nsfix apply` on the plan file does all three and rolls back on a failure.",
        "",
    ]
    if plan.changes:
        lines.append(
            f"# Apply: {count(len(plan.changes), 'change')}, in the order nsfix apply writes "
            "them (the canary first)."
        )
        lines.extend(partition_switch(plan))
        for change in plan.changes:
            lines.append(f"# {_about(change)}")
            lines.append(command(change.operation))
        lines.extend(
            ("", "# Once the change is verified, keep it over a reboot:", "# save ns config")
        )
    else:
        lines.append("# Nothing to change.")
    if plan.refusals:
        lines.extend(
            ("", f"# Refused: {count(len(plan.refusals), 'object')} nsfix will not change.")
        )
        for refusal in plan.refusals:
            lines.append(f"# {visible(f'{refusal.object}: {refusal.reason} ({refusal.code})')}")
            if refusal.alternative:
                lines.append(f"#   instead: {visible(refusal.alternative)}")
    if plan.changes:
        lines.extend(
            (
                "",
                "# Rollback, newest first: to undo the change, paste these lines without their "
                f'leading "{ROLLBACK_MARK}".',
            )
        )
        lines.extend(ROLLBACK_MARK + line for line in rollback_commands(plan))
    return "".join(line + "\n" for line in lines)


def cli_blocks(plan: Plan) -> tuple[Block, ...]:
    """The CAB report's view of the same commands: apply and rollback, as code to paste."""
    if not plan.changes:
        return ()
    heading = Heading(("The changes as NetScaler CLI commands",))
    try:
        applying, rolling_back = apply_commands(plan), rollback_commands(plan)
    except UnwritableValue as exc:
        # The rest of the report stands; only the commands cannot be written.
        return (heading, Paragraph((f"None: {exc}.",)))
    return (
        heading,
        Paragraph(
            (
                "For the CLI or a NetScaler Console job. Pasted, they neither check nor verify "
                "anything (",
                Code("nsfix apply"),
                " does); ",
                Code("save ns config"),
                " once the change is verified.",
            )
        ),
        CodeBlock(tuple(applying), language="text", label="Apply, the canary first"),
        CodeBlock(tuple(rolling_back), language="text", label="Rollback, newest first"),
    )


def _about(change: Change) -> str:
    canary = " (canary)" if change.canary else ""
    fixes = f": fixes {', '.join(_rules(change.fixes))}" if change.fixes else ""
    return visible(f"{change.id}{canary} {change.object}{fixes}")


def _rules(fixes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(key.split(" ", 1)[0] for key in fixes))
