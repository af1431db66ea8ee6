"""Serve-time road networks: graphs, travel times, snapping, matrices and isochrones."""
