"""ui.contours: contour lines by marching squares, as the segments of a Plotly scatter trace."""

import numpy as np

from ui.contours import contour_lines

GRID = np.linspace(-3.0, 3.0, 41)
X, Y = np.meshgrid(GRID, GRID)  # rows follow y, as the network's pictures


def segments(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The scatter trace's segments (start, end, then a NaN gap each) as segments × 2 points × (x, y)."""
    points = np.column_stack([x, y]).reshape(-1, 3, 2)
    assert np.isnan(points[:, 2]).all() and not np.isnan(points[:, :2]).any()
    return points[:, :2]


def ends_met(pieces: np.ndarray) -> list[int]:
    """How many segment ends lie on each distinct point: 2 where two segments join."""
    _, met = np.unique(pieces.reshape(-1, 2).round(5), axis=0, return_counts=True)
    return met.tolist()


def test_a_closed_line_inside_the_grid_is_a_ring_of_segments_on_the_level():
    z = np.exp(-(X ** 2 + Y ** 2))[None].astype(np.float32)
    [(x, y)] = contour_lines(z, GRID, 0.5)
    pieces = segments(x, y)
    assert x.dtype == y.dtype == np.float32
    radius = np.hypot(pieces[..., 0], pieces[..., 1])
    assert np.abs(radius - np.sqrt(np.log(2))).max() < 0.01  # on the circle exp(-r²) = 0.5
    # One segment per cell the circle crosses, within that cell, and closed: every end meets another.
    above = z[0] >= 0.5
    corners_above = above[:-1, :-1].astype(int) + above[:-1, 1:] + above[1:, :-1] + above[1:, 1:]
    assert len(pieces) == np.count_nonzero((corners_above > 0) & (corners_above < 4)) > 20
    assert np.hypot(*(pieces[:, 1] - pieces[:, 0]).T).max() <= np.sqrt(2) * (GRID[1] - GRID[0])
    assert set(ends_met(pieces)) == {2}


def test_a_line_across_the_grid_ends_at_its_edges():
    z = ((X + 3) / 6)[None].astype(np.float32)  # 0.5 at x = 0, a straight line from y = -3 to 3
    [(x, y)] = contour_lines(z, GRID, 0.5)
    pieces = segments(x, y)
    np.testing.assert_allclose(pieces[..., 0], 0, atol=1e-6)
    assert len(pieces) == len(GRID) - 1 and (pieces[..., 1].min(), pieces[..., 1].max()) == (-3, 3)
    assert sorted(ends_met(pieces)) == [1, 1] + [2] * (len(GRID) - 2)  # joined, open only at the grid's edges


def test_each_picture_of_a_batch_is_traced_as_if_alone():
    rng = np.random.default_rng(0)
    z = rng.uniform(0, 1, (4, 9, 9)).astype(np.float32)  # many pieces, saddles, lines to the edges
    grid = np.linspace(-3.0, 3.0, 9)
    batch = contour_lines(z, grid, 0.5)
    for picture, (x, y) in zip(z, batch):
        [(alone_x, alone_y)] = contour_lines(picture[None], grid, 0.5)
        np.testing.assert_array_equal(x, alone_x)
        np.testing.assert_array_equal(y, alone_y)
        # Every point is where the values, linear along a cell's edge, cross the level.
        for point in np.column_stack([x, y])[~np.isnan(x)]:
            column, row = np.interp(point[0], grid, np.arange(9)), np.interp(point[1], grid, np.arange(9))
            on_vertical_edge = np.isclose(column, np.round(column), atol=1e-4)
            c, r = (int(np.round(column)), int(row)) if on_vertical_edge else (int(column), int(np.round(row)))
            corners = (picture[r, c], picture[r + 1, c]) if on_vertical_edge else (picture[r, c], picture[r, c + 1])
            fraction = (row - r) if on_vertical_edge else (column - c)
            assert abs(corners[0] + fraction * (corners[1] - corners[0]) - 0.5) < 1e-4


def test_a_saddle_is_split_by_its_centre_and_a_level_never_crossed_gives_nothing():
    grid = np.array([0.0, 1.0])
    # Corners 1 at bottom-left and top-right: the centre (0.5) counts as above, joining them, so
    # the lines cut off the other two corners.
    [(x, y)] = contour_lines(np.array([[[1.0, 0.0], [0.0, 1.0]]], np.float32), grid, 0.5)
    cut = sorted(sorted(map(tuple, piece.tolist())) for piece in segments(x, y))
    assert cut == [[(0.0, 0.5), (0.5, 1.0)], [(0.5, 0.0), (1.0, 0.5)]]
    [(x, y)] = contour_lines(np.full((1, 5, 5), 0.7, np.float32), np.linspace(-1, 1, 5), 0.5)
    assert len(x) == len(y) == 0
