"""What the original notebook printed after 1000 epochs, and the check that a result reproduces it."""

import numpy as np

from implementations import TrainResult
from implementations.agreement import tolerance

# to the digits it printed (NumPy's default 8 decimals)
NOTEBOOK_PRINTED = {
    "weights_hidden": [
        [0.78535854, -2.38635463, 2.12878488],
        [2.05894493, 1.10610087, -4.03536696],
        [0.30605228, -2.2491059, 0.41636863],
    ],
    "weights_output": [[-2.82735452, 2.6021329, -2.62164075], [-0.21514193, -1.04321128, 1.55538615]],
    "final_output": [0.87579945, 0.3024596],
}
HALF_LAST_PRINTED_DIGIT = 0.5e-8


def check_notebook_result(result: TrainResult, exact: bool = True) -> None:
    """Assert that a result of the notebook's problem matches every digit the notebook printed (float64), or stays
    within float32's drift bound of them (float32, or an implementation declared not float64-exact)."""
    allowed = HALF_LAST_PRINTED_DIGIT
    if result.weights_hidden.dtype == np.float32 or not exact:
        weights = (np.asarray(NOTEBOOK_PRINTED["weights_hidden"]), np.asarray(NOTEBOOK_PRINTED["weights_output"]))
        allowed += tolerance("float32", len(result.loss_history), *weights)
    for name, printed in NOTEBOOK_PRINTED.items():
        np.testing.assert_allclose(getattr(result, name), printed, rtol=0, atol=allowed, err_msg=name)
