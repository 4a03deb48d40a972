"""nsfix: find, plan and safely fix NetScaler DSR set-ups that do not keep the client's source IP."""

__version__ = "0.1.0"
