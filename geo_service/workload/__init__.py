"""Workload per precinct (`indicators`), the reform's indicators and pilot evaluation (`reform`),
and balanced precinct proposals (`balance`)."""
