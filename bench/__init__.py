"""Benchmarks: each prints the figures it measures (see bench/README.md)."""
