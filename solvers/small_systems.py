"""Small dense pieces of the Levenberg-Marquardt step (``levenberg_marquardt``): an unrolled
Cholesky solve for tiny systems, and row sets as slices."""

from __future__ import annotations

from typing import Any

import numpy as np

# Systems up to this size are solved by an unrolled Cholesky of plain array operations:
# cheaper than a LAPACK call for tiny systems, and it vectorises across a batch (vmap),
# where a LAPACK call would loop over the problems.
SMALL_SYSTEM = 8


def unrolled_cholesky_solve(A: Any, b: Any, xp: Any) -> Any:
    """Solve A x = b, A (m, m) symmetric positive definite, b (m,) or (m, k); m small and static."""
    m = A.shape[0]
    L = [[None] * m for _ in range(m)]
    for i in range(m):
        for j in range(i + 1):
            s = A[i, j] - sum(L[i][k] * L[j][k] for k in range(j))
            L[i][j] = xp.sqrt(xp.maximum(s, 1e-30)) if i == j else s / L[j][j]
    y = [None] * m
    for i in range(m):  # forward substitution: L y = b
        y[i] = (b[i] - sum(L[i][k] * y[k] for k in range(i))) / L[i][i]
    x = [None] * m
    for i in reversed(range(m)):  # back substitution: L^T x = y
        x[i] = (y[i] - sum(L[k][i] * x[k] for k in range(i + 1, m))) / L[i][i]
    return xp.stack(x)


def rows_as_slice(rows: np.ndarray):
    """A slice when the rows are contiguous (cheaper than a gather in the compiled program)."""
    if len(rows) and np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
        return slice(int(rows[0]), int(rows[0]) + len(rows))
    return rows
