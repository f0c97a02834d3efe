"""The notebook's network in TensorFlow with the step as a tf.function (a graph traced once), called each epoch."""

import tensorflow as tf

from .problem import Problem
from .with_tensorflow import gradient_step, run_epochs, variables_and_data

FRAMEWORK = "tensorflow"
VARIANT = "the GradientTape step as a tf.function, called each epoch"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("tensorflow-cpu>=2.21",)  # the distributions it needs
EXTRAS = ("tensorflow",)  # the suite's extras that install them
COST_CLASS = "compiled step"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": ".numpy() of every result at the end",
    "compiled": "the step by tf.function (a graph), traced in prepare()",
    "threads": "tf.config.threading intra- and inter-op pools, before its runtime starts",
    "idiom": "plain: the tf.function step most TensorFlow code uses",
}

graph_step = tf.function(gradient_step)


def prepare(problem: Problem):
    """Trace the step for this problem's shapes and dtype (one epoch run once); return the training loop."""
    weights, x, y, lr = variables_and_data(problem)
    graph_step(*weights, x, y, lr)  # run_epochs resets the weights this epoch moved
    return lambda: run_epochs(graph_step, problem, weights, x, y, lr)
