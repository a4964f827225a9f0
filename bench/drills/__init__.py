"""Reliability and security drills (`python -m bench.drills`)."""
