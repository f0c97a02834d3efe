"""Benchmarks of the training loops, and the reports made from their saved runs."""
