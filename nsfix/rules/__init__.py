"""Compliance rules as data: playbooks, built-in checks, the engine that applies them, waivers."""
