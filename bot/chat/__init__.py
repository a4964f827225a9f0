"""Chat rendering shared by handlers and jobs: texts and keyboards, no I/O."""
