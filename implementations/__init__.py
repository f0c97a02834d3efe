"""One network, one update rule, several frameworks: the public API of backprop-bench."""

from .problem import Diverged, Problem, TrainResult, random_problem, seed_problem
from .registry import Implementation, UnavailableImplementation, available, get, unavailable

__all__ = [
    "Diverged",
    "Implementation",
    "Problem",
    "TrainResult",
    "UnavailableImplementation",
    "available",
    "get",
    "random_problem",
    "seed_problem",
    "unavailable",
]
