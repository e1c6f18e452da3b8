"""Reproducible benchmarks (``make bench``): each prints our figures next to a limit or a bare-library baseline."""
