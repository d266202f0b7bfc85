"""Headquarters' figures (metrics), the charts drawn from them and the weekly pack (exports)."""
