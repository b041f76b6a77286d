"""Deterministic seeded data sets, one module per vendor, scalable for benchmarks."""
