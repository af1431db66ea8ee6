"""Which precinct, inspector and post cover a point or an address (Kazakh/Russian/Latin text)."""
