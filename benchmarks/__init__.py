"""Benchmarks of the training loops: what is timed (timed/), the pytest plugin that measures it (plugin/), the
results model (model/), the reports (presentation/) and the command line (cli.py)."""
