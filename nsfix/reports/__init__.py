"""Renderers: each turns the core's plain data into one output format, and does nothing else."""
