"""One network, one update rule, several frameworks: the public API of backprop-bench."""

from .problem import Problem, TrainResult, random_problem, seed_problem
from .registry import Implementation, UnavailableImplementation, available, get, unavailable

__all__ = [
    "Implementation", "Problem", "TrainResult", "UnavailableImplementation",
    "available", "get", "random_problem", "seed_problem", "unavailable",
]
