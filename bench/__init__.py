"""Benchmarks: ``make bench`` (service throughput, latency and queue depth) lives in bench/run.py."""
