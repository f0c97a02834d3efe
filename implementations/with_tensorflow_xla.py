"""The notebook's network in TensorFlow, the whole loop (loss history included) in one XLA-compiled tf.function."""

import numpy as np
import tensorflow as tf

from .problem import Problem, TrainResult
from .with_tensorflow import loss_and_outputs

FRAMEWORK = "tensorflow"
VARIANT = "whole loop in one tf.function(jit_compile=True)"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("tensorflow-cpu>=2.21",)  # the distributions it needs
EXTRAS = ("tensorflow",)  # the suite's extras that install them
COST_CLASS = "compiled loop"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "np.asarray of the results waits for the whole loop",
    "compiled": "the whole loop by tf.function(jit_compile=True) (XLA), in prepare()",
    "threads": "tf.config.threading intra- and inter-op pools, before its runtime starts",
    "idiom": "best: the loop inside XLA",
}


def prepare(problem: Problem):
    """Compile the whole loop for this problem's shapes, dtype and epoch count; return it."""
    x, y = tf.constant(problem.batch_inputs), tf.constant(problem.batch_targets)
    lr, epochs, n_out = tf.constant(problem.learning_rate, dtype=x.dtype), problem.epochs, y.shape[1]

    @tf.function(jit_compile=True)
    def train_all_epochs(wh, wo):
        def epoch(step, wh, wo, losses, _):
            with tf.GradientTape() as tape:
                tape.watch([wh, wo])
                loss, o = loss_and_outputs(wh, wo, x, y)
            grad_wh, grad_wo = tape.gradient(loss, [wh, wo])
            losses = losses.write(step, loss * (2 / n_out))  # mean((y - o)^2) = 2BL / (B n_out)
            return step + 1, wh - lr * grad_wh, wo - lr * grad_wo, losses, o

        start = (tf.constant(0), wh, wo, tf.TensorArray(x.dtype, size=epochs), tf.zeros_like(y))
        _, wh, wo, losses, o = tf.while_loop(lambda step, *_: step < epochs, epoch, start, maximum_iterations=epochs)
        return wh, wo, losses.stack(), o

    weights = tf.constant(problem.weights_hidden), tf.constant(problem.weights_output)
    train_all_epochs(*weights)  # trace and compile now, so no timed call pays for it

    def train() -> TrainResult:
        wh, wo, loss_history, o = (np.asarray(t) for t in train_all_epochs(*weights))
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    return train
