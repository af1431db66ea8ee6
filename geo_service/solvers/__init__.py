"""Solver glue the domains share (HiGHS)."""
