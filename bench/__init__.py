"""Benchmarks of the bot against baselines measured in the same run (`python -m bench`)."""
