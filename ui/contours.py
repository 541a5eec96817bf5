"""Contour lines of pictures on a square grid, as the x and y of Plotly scatter traces. NumPy only:
no Plotly, no Streamlit.

Why not Plotly's contour trace: ▶ Play moves scatter traces from frame to frame without redrawing
the chart, but changes a contour only on a full redraw, which takes longer than a frame may (see
ui.figures.decision_boundary_figure). So the lines are traced here by marching squares, for every
picture of a batch at once: a segment across each cell the line crosses, NaN after each, which a
scatter trace draws as the line (its pieces meet end to end on the cells' shared edges)."""

from __future__ import annotations

import numpy as np

# A cell's edges, by number: 0 bottom, 1 right, 2 top, 3 left. A cell the level crosses on two
# edges holds one segment between them; a saddle (crossed on all four) holds two, which cut off
# either its bottom-left and top-right corners or the other two.
CUT_BOTTOM_LEFT_AND_TOP_RIGHT = ((0, 3), (2, 1))
CUT_BOTTOM_RIGHT_AND_TOP_LEFT = ((0, 1), (2, 3))


def contour_lines(z: np.ndarray, grid: np.ndarray, level: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The line z = ``level`` of each picture of ``z`` (pictures × n × n on grid × grid, rows
    following y): for one scatter trace each, its x and y (float32), a segment per crossed cell
    (two in a saddle) followed by NaN. A corner at the level counts as above it."""
    z = np.asarray(z, np.float64)
    grid = np.asarray(grid, np.float64)
    above = z >= level
    crossed_x = above[..., :-1] != above[..., 1:]  # the edges between neighbours along x, and along y
    crossed_y = above[:, :-1] != above[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):  # an edge not crossed: never read
        along_x = grid[:-1] + (level - z[..., :-1]) / np.diff(z, axis=2) * np.diff(grid)
        along_y = grid[:-1, None] + (level - z[:, :-1]) / np.diff(z, axis=1) * np.diff(grid)[:, None]

    def crossing(picture: np.ndarray, row: np.ndarray, col: np.ndarray, edge: np.ndarray) -> np.ndarray:
        """Where the level crosses edge ``edge`` of cell (``row``, ``col``): (x, y) per cell."""
        horizontal, far = edge % 2 == 0, (edge == 1) | (edge == 2)  # far: the right or top edge
        x = np.where(horizontal, along_x[picture, row + far, col], grid[col + far])
        y = np.where(horizontal, grid[row + far], along_y[picture, row, col + far])
        return np.stack([x, y], axis=-1)

    # Which edges of each cell are crossed (pictures × rows × columns × edge).
    crossed = np.stack([crossed_x[:, :-1], crossed_y[..., 1:], crossed_x[:, 1:], crossed_y[..., :-1]], axis=-1)
    count = crossed.sum(-1)
    picture, row, col = np.nonzero(count == 2)  # one segment, between the two crossed edges
    first, last = crossed[picture, row, col].argmax(-1), 3 - crossed[picture, row, col, ::-1].argmax(-1)
    segments = [(picture, crossing(picture, row, col, first), crossing(picture, row, col, last))]
    # A saddle: the value at its centre (the mean of its corners) decides which corners the line
    # joins; the two on the centre's side stay connected, the other two are cut off.
    picture, row, col = np.nonzero(count == 4)
    corners = z[picture, row, col], z[picture, row, col + 1], z[picture, row + 1, col + 1], z[picture, row + 1, col]
    cut_bottom_left = (corners[0] >= level) != (sum(corners) / 4 >= level)
    pairs = np.where(cut_bottom_left[:, None, None], CUT_BOTTOM_LEFT_AND_TOP_RIGHT, CUT_BOTTOM_RIGHT_AND_TOP_LEFT)
    segments += [(picture, crossing(picture, row, col, pairs[:, segment, 0]),
                  crossing(picture, row, col, pairs[:, segment, 1])) for segment in range(2)]
    pictures, starts, ends = (np.concatenate(parts) for parts in zip(*segments))
    order = np.argsort(pictures, kind="stable")
    points = np.stack([starts[order], ends[order], np.full_like(starts, np.nan)], axis=1).reshape(-1, 2)
    bounds = np.cumsum(3 * np.bincount(pictures, minlength=len(z)))[:-1]
    return [(piece[:, 0], piece[:, 1]) for piece in np.split(points.astype(np.float32), bounds)]
