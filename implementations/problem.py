"""The training problem every implementation solves, and the result each returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

DTYPES = ("float64", "float32")


def _as_array(name: str, value, dtype: str, ndims: tuple[int, ...], meaning: str) -> np.ndarray:
    """Convert a field to a finite array of the given dtype, or raise ValueError naming it."""
    try:
        with np.errstate(over="ignore"):  # an overflowing value becomes inf, reported below
            array = np.array(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of numbers {meaning}, got {value!r:.80} ({error})") from None
    if array.ndim not in ndims:
        raise ValueError(f"{name} must have shape {meaning}, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}; expected {meaning}")
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} must be finite, but {name}{list(bad)} is {array[bad]}")
    return array


@dataclass(frozen=True, eq=False)
class Problem:
    """A 2-layer sigmoid network, its data and its training schedule; validated on construction."""

    inputs: np.ndarray  # (n_in,) for one sample, or (B, n_in)
    targets: np.ndarray  # (n_out,) or (B, n_out)
    weights_hidden: np.ndarray  # (n_hidden, n_in): one row per hidden neuron
    weights_output: np.ndarray  # (n_out, n_hidden): one row per output neuron
    learning_rate: float = 0.1
    epochs: int = 1000
    dtype: str = "float64"
    batched: bool = field(init=False)

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        hidden = _as_array("weights_hidden", self.weights_hidden, self.dtype, (2,), "(n_hidden, n_in)")
        output = _as_array("weights_output", self.weights_output, self.dtype, (2,), "(n_out, n_hidden)")
        inputs = _as_array("inputs", self.inputs, self.dtype, (1, 2), "(n_in,) or (batch, n_in)")
        targets = _as_array("targets", self.targets, self.dtype, (1, 2), "(n_out,) or (batch, n_out)")
        n_hidden, n_in = hidden.shape
        n_out = output.shape[0]
        if output.shape[1] != n_hidden:
            raise ValueError(
                f"weights_output has shape {output.shape} but must be (n_out, n_hidden) = (n_out, {n_hidden}), since "
                f"weights_hidden has shape {hidden.shape} = (n_hidden, n_in)"
            )
        if inputs.shape[-1] != n_in:
            raise ValueError(
                f"inputs have shape {inputs.shape} but weights_hidden has shape {hidden.shape} = (n_hidden, n_in), so "
                f"each sample needs n_in = {n_in} features"
            )
        if targets.shape[-1] != n_out:
            raise ValueError(
                f"targets have shape {targets.shape} but weights_output has shape {output.shape} = (n_out, n_hidden), "
                f"so each sample needs n_out = {n_out} targets"
            )
        if inputs.ndim != targets.ndim or inputs.shape[:-1] != targets.shape[:-1]:
            raise ValueError(
                f"inputs {inputs.shape} and targets {targets.shape} must hold the same samples: both one sample "
                "((n_in,), (n_out,)) or both a batch ((B, n_in), (B, n_out))"
            )
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)) or self.epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        try:
            learning_rate = float(self.learning_rate)
        except (TypeError, ValueError):
            raise ValueError(f"learning_rate must be a number > 0, got {self.learning_rate!r}") from None
        if not (math.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a finite number > 0, got {self.learning_rate!r}")
        for name, array in (
            ("inputs", inputs),
            ("targets", targets),
            ("weights_hidden", hidden),
            ("weights_output", output),
        ):
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        object.__setattr__(self, "learning_rate", learning_rate)
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "batched", inputs.ndim == 2)

    @property
    def batch_inputs(self) -> np.ndarray:
        """Inputs as (B, n_in), one row per sample."""
        return self.inputs if self.batched else self.inputs[None, :]

    @property
    def batch_targets(self) -> np.ndarray:
        """Targets as (B, n_out), one row per sample."""
        return self.targets if self.batched else self.targets[None, :]

    @property
    def sizes(self) -> dict[str, int]:
        """Layer and batch sizes."""
        n_hidden, n_in = self.weights_hidden.shape
        return {
            "n_in": n_in,
            "n_hidden": n_hidden,
            "n_out": self.weights_output.shape[0],
            "batch": len(self.batch_inputs),
        }

    def unbatch(self, outputs: np.ndarray) -> np.ndarray:
        """Give (B, n_out) outputs the shape of the targets."""
        return outputs if self.batched else outputs[0]

    def with_dtype(self, dtype: str) -> Problem:
        """The same problem in another dtype."""
        return Problem(
            self.inputs, self.targets, self.weights_hidden, self.weights_output, self.learning_rate, self.epochs, dtype
        )


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What training returns: final weights, the loss of every epoch, and the last forward pass's outputs."""

    weights_hidden: np.ndarray
    weights_output: np.ndarray
    loss_history: np.ndarray  # mean((y - o)^2) at each epoch's forward pass, before its update
    final_output: np.ndarray  # outputs of the last epoch's forward pass, shaped like the targets


RESULT_FIELDS = tuple(result_field.name for result_field in fields(TrainResult))


class Diverged(ArithmeticError):
    """Training that blew up: the message names the implementation and the first epoch it happened."""


# Beyond this the sigmoids are saturated for any ordinary input (exactly 0 or 1 past |z| ~ 37 in float64):
# gradients vanish and training silently stops, so weights this large mean the learning rate blew them up.
WEIGHT_LIMIT = 1e8


def blown_up(result: TrainResult) -> str | None:
    """What went wrong in a result that diverged (non-finite values, exploded weights), or None."""
    if not np.all(np.isfinite(result.loss_history)):
        return "the loss is not finite"
    for name in ("weights_hidden", "weights_output"):
        weights = getattr(result, name)
        if not np.all(np.isfinite(weights)):
            return f"{name} are not finite"
        if np.max(np.abs(weights)) > WEIGHT_LIMIT:
            return f"{name} grew to {np.max(np.abs(weights)):.2g} (over {WEIGHT_LIMIT:.0e}), saturating every sigmoid"
    return None


def seed_problem(dtype: str = "float64") -> Problem:
    """The notebook's problem: one sample, a 3-3-2 network, lr 0.1, 1000 epochs."""
    return Problem(
        inputs=[0.5, 0.9, -0.3],
        targets=[0.9, 0.3],
        weights_hidden=[[1.0, -2.0, 2.0], [2.0, 1.0, -4.0], [1.0, -1.0, 0.0]],
        weights_output=[[-3.0, 1.0, -3.0], [0.0, 1.0, 2.0]],
        learning_rate=0.1,
        epochs=1000,
        dtype=dtype,
    )


def random_problem(
    seed: int,
    n_in: int = 3,
    n_hidden: int = 3,
    n_out: int = 2,
    batch: int | None = None,
    learning_rate: float = 0.1,
    epochs: int = 100,
    dtype: str = "float64",
) -> Problem:
    """A reproducible random problem: Xavier-scaled weights, inputs in [-1, 1], targets in (0.1, 0.9)."""
    rng = np.random.default_rng(seed)
    samples = (batch,) if batch is not None else ()
    return Problem(
        inputs=rng.uniform(-1, 1, samples + (n_in,)),
        targets=rng.uniform(0.1, 0.9, samples + (n_out,)),
        weights_hidden=rng.normal(0, 1 / math.sqrt(n_in), (n_hidden, n_in)),
        weights_output=rng.normal(0, 1 / math.sqrt(n_hidden), (n_out, n_hidden)),
        learning_rate=learning_rate,
        epochs=epochs,
        dtype=dtype,
    )
