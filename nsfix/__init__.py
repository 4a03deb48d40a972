"""nsfix: find, plan and safely fix NetScaler DSR set-ups that lose the client's source IP."""

__version__ = "0.1.0"
