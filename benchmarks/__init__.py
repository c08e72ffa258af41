"""Benchmarks: entry points that print figures; never collected as tests."""
