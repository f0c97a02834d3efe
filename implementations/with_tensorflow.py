"""The notebook's network in TensorFlow, eager: gradients from tf.GradientTape of the loss, every epoch."""

import contextlib

import tensorflow as tf

from .problem import Problem, TrainResult

FRAMEWORK = "tensorflow"
VARIANT = "tf.GradientTape, eager"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("tensorflow-cpu>=2.21",)  # the distributions it needs
EXTRAS = ("tensorflow",)  # the suite's extras that install them
COST_CLASS = "eager"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "eager on the CPU: done when each op returns; .numpy() at the end",
    "compiled": "nothing",
    "threads": "tf.config.threading intra- and inter-op pools, before its runtime starts",
    "idiom": "plain: GradientTape in an eager loop",
}


def set_threads(threads: int) -> dict[str, object]:
    """TensorFlow's intra- and inter-op pools, which can change only before its runtime starts; return what holds."""
    threading = tf.config.threading
    with contextlib.suppress(RuntimeError):  # the runtime already started: the reading below shows what stuck
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    # 0 means TensorFlow's own choice: one thread per CPU the process may use
    return {
        "tensorflow_intra_op": threading.get_intra_op_parallelism_threads(),
        "tensorflow_inter_op": threading.get_inter_op_parallelism_threads(),
    }


def loss_and_outputs(wh, wo, x, y):
    """L = 1/(2B) sum (y - o)^2, and the outputs o."""
    o = tf.sigmoid(tf.sigmoid(x @ tf.transpose(wh)) @ tf.transpose(wo))
    return tf.reduce_sum((y - o) ** 2) / (2 * x.shape[0]), o


def gradient_step(wh, wo, x, y, lr):
    """One epoch on tf.Variables: the forward pass under a tape, its gradients, the weights updated in place."""
    with tf.GradientTape() as tape:
        loss, o = loss_and_outputs(wh, wo, x, y)
    grad_wh, grad_wo = tape.gradient(loss, [wh, wo])
    wh.assign_sub(lr * grad_wh)
    wo.assign_sub(lr * grad_wo)
    return loss, o


def variables_and_data(problem: Problem):
    """The weights as tf.Variables, the data and the learning rate as tensors of the problem's dtype."""
    weights = tf.Variable(problem.weights_hidden), tf.Variable(problem.weights_output)
    x, y = tf.constant(problem.batch_inputs), tf.constant(problem.batch_targets)
    return weights, x, y, tf.constant(problem.learning_rate, dtype=x.dtype)


def run_epochs(step, problem: Problem, weights, x, y, lr) -> TrainResult:
    """The training loop around a step that updates the variables; the step decides how it is executed."""
    wh, wo = weights
    wh.assign(problem.weights_hidden)
    wo.assign(problem.weights_output)
    losses = []
    for _ in range(problem.epochs):
        loss, o = step(wh, wo, x, y, lr)
        losses.append(loss)
    loss_history = tf.stack(losses) * (2 / y.shape[1])  # mean((y - o)^2) = 2BL / (B n_out)
    return TrainResult(wh.numpy(), wo.numpy(), loss_history.numpy(), problem.unbatch(o.numpy()))


def prepare(problem: Problem):
    """Return the training loop for this problem."""
    state = variables_and_data(problem)
    return lambda: run_epochs(gradient_step, problem, *state)
