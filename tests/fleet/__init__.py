"""Fleets of appliances, the --since state file, and the scheduled-job examples."""
