"""An inspector's day: visits to a route, patrols, the multi-day schedule, GPX."""
