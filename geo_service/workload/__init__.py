"""Workload indicators per precinct and balanced precinct proposals."""
