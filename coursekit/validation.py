"""Input checks shared by every coursekit model: one place, clear messages.

Errors name the argument and say what was wrong, so a student sees
``ValueError: X must be 2-D [n_samples, n_features], got shape (5,)`` instead of a
stack trace from deep inside NumPy or torch.
"""

import numbers

import numpy as np


def check_matrix(X, name="X", *, dtype=np.float64, allow_empty=False):
    """Return ``X`` as a finite 2-D float array ``[n, d]``; raise ``ValueError`` otherwise."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be an array-like of numbers, got {type(X).__name__}")
    if hasattr(X, "detach"):  # a torch tensor: leave the autograd graph and the device
        X = X.detach().cpu().numpy()
    if hasattr(X, "tocsr"):  # scipy.sparse: every model here works on dense arrays
        raise TypeError(f"{name} is a sparse matrix; pass dense data ({name}.toarray())")
    try:
        array = np.asarray(X)
        if array.dtype.kind == "c":
            raise ValueError(f"{name}: Complex data not supported, got dtype {array.dtype}")
        array = array.astype(dtype, copy=False)
    except (TypeError, ValueError) as error:
        if "Complex" in str(error):
            raise
        raise TypeError(f"{name} must be an array-like of numbers: {error}") from None
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D [n_samples, n_features], got shape {array.shape}. Reshape "
            "your data: X.reshape(-1, 1) for one feature, X.reshape(1, -1) for one sample"
        )
    if not allow_empty and (array.shape[0] == 0 or array.shape[1] == 0):
        what = "sample(s)" if array.shape[0] == 0 else "feature(s)"
        raise ValueError(f"{name} must not be empty: 0 {what} (shape={array.shape}) while a "
                         "minimum of 1 is required.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def check_same_features(X, W, x_name="X", w_name="W"):
    """Raise ``ValueError`` unless ``X`` and ``W`` have the same number of columns."""
    if X.shape[1] != W.shape[1]:
        raise ValueError(
            f"{x_name} has {X.shape[1]} features but {w_name} has {W.shape[1]}; "
            "they must match"
        )


def check_positive_int(value, name, *, minimum=1):
    """Return ``value`` if it is an integer ``>= minimum``; raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_positive_float(value, name, *, allow_zero=False):
    """Return ``value`` as float if it is a finite number > 0 (or >= 0); raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return value


def check_estimator_input(estimator, X, *, reset):
    """``X`` as a finite float64 ``[n, d]`` array, with scikit-learn's feature bookkeeping.

    The door of every scikit-learn-style estimator (``fit``, ``predict``, ...): scikit-learn's
    ``validate_data`` rejects sparse, complex, 1-D, empty and non-finite input with its standard
    messages and records (``reset=True``) or checks ``n_features_in_`` and DataFrame column
    names; :func:`check_matrix` then fixes the type. What runs after it (the training loops)
    works on the returned array and does not check it again.
    """
    from sklearn.utils.validation import validate_data  # scikit-learn only where it is used

    X = validate_data(estimator, X, reset=reset, dtype=np.float64)
    return check_matrix(X, "X")


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``; raise ``ValueError`` naming them otherwise."""
    if isinstance(value, str) and value in choices:
        return value
    raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def check_open_unit(value, name):
    """Return ``value`` as float if it is a number strictly between 0 and 1; raise otherwise."""
    value = check_positive_float(value, name)
    if value >= 1:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return value
