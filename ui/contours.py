"""Contour lines of pictures on a square grid, as the x and y of Plotly scatter traces. NumPy only:
no Plotly, no Streamlit.

Why not Plotly's contour trace: ▶ Play moves scatter traces from frame to frame without redrawing
the chart, but changes a contour only on a full redraw, which takes longer than a frame may (see
ui.figures.decision_boundary_figure). So the lines are traced here, by marching squares, for every
picture of a batch at once, and put in order by pointer jumping: a few NumPy operations on all
segments together, not a Python loop over them."""

from __future__ import annotations

import numpy as np

# Corners of a cell at or above the level: 1 bottom-left, 2 bottom-right, 4 top-right, 8 top-left.
# Edges of a cell: 0 bottom, 1 right, 2 top, 3 left. A segment runs from its first edge to its
# second with the region above the level on its left, so segments join head to tail. Cases 5 and
# 10 (only opposite corners above) depend on the cell's centre: below it, as listed; above it, as
# cases 16 and 17.
_SEGMENTS = {1: [(0, 3)], 2: [(1, 0)], 3: [(1, 3)], 4: [(2, 1)], 5: [(0, 3), (2, 1)], 6: [(2, 0)], 7: [(2, 3)],
             8: [(3, 2)], 9: [(0, 2)], 10: [(1, 0), (3, 2)], 11: [(1, 2)], 12: [(3, 1)], 13: [(0, 1)],
             14: [(3, 0)], 16: [(0, 1), (2, 3)], 17: [(3, 0), (1, 2)]}
_FIRST_EDGE = np.full((18, 2), -1, np.int64)  # by case, of its first and second segment (-1: none)
_SECOND_EDGE = np.full((18, 2), -1, np.int64)
for _case, _pairs in _SEGMENTS.items():
    for _index, (_first, _second) in enumerate(_pairs):
        _FIRST_EDGE[_case, _index], _SECOND_EDGE[_case, _index] = _first, _second


def contour_lines(z: np.ndarray, grid: np.ndarray, level: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The contour line z = ``level`` of each picture of ``z`` (pictures × n × n on grid × grid, rows
    following y): its x and y as float32, NaN between pieces, for one scatter trace each.

    Each picture is traced inside a border below the level (at the grid's edge: a row of cells of no
    width), so that every piece closes into a ring, the parts along the border included; those
    parts are then left out (a gap), which leaves the lines that end at the grid's edge open."""
    pictures, n, _ = z.shape
    m = n + 2
    padded = np.full((pictures, m, m), -np.inf, np.float32)
    padded[:, 1:-1, 1:-1] = z
    coordinates = np.concatenate([grid[:1], grid, grid[-1:]]).astype(np.float32)
    above = (padded >= level).view(np.uint8)
    case = above[:, :-1, :-1] | above[:, :-1, 1:] << 1 | above[:, 1:, 1:] << 2 | above[:, 1:, :-1] << 3
    crossed = np.flatnonzero((case != 0) & (case != 15))
    picture, row, col = crossed // (m - 1) ** 2, crossed // (m - 1) % (m - 1), crossed % (m - 1)
    case = case.ravel()[crossed].astype(np.int64)
    saddle = np.flatnonzero((case == 5) | (case == 10))
    p, r, c = picture[saddle], row[saddle], col[saddle]
    centre = (padded[p, r, c] + padded[p, r, c + 1] + padded[p, r + 1, c + 1] + padded[p, r + 1, c]) / 4
    case[saddle] = np.where(centre >= level, np.where(case[saddle] == 5, 16, 17), case[saddle])
    # A saddle's two segments one after the other: segments stay in picture order.
    twice = _FIRST_EDGE[case, 1] >= 0
    cell = np.repeat(np.arange(len(case)), 1 + twice)
    which = np.zeros(len(cell), np.int64)
    which[1:] = cell[1:] == cell[:-1]
    first, second = _FIRST_EDGE[case[cell], which], _SECOND_EDGE[case[cell], which]
    picture, row, col = picture[cell], row[cell], col[cell]
    # Edges by number: per picture, the horizontal ones (corner (r, c) to (r, c + 1)), then the
    # vertical ones (corner (r, c) to (r + 1, c)).
    horizontal_edges, per_picture = m * (m - 1), 2 * m * (m - 1)

    def edge_number(edge: np.ndarray) -> np.ndarray:
        return picture * per_picture + np.where(edge % 2 == 0, (row + (edge == 2)) * (m - 1) + col,
                                                horizontal_edges + row * m + col + (edge == 1))

    count = len(cell)
    segment_starting = np.empty(pictures * per_picture, np.int64)
    segment_starting[edge_number(first)] = np.arange(count)
    successor = segment_starting[edge_number(second)]
    on_border = (row == 0) | (row == m - 2) | (col == 0) | (col == m - 2)
    predecessor = np.empty(count, np.int64)
    predecessor[successor] = np.arange(count)
    # Each ring starts at its lowest segment that follows the border, if it has any (a line that
    # crosses the grid then comes out as one piece), else at its lowest: the ring's head. Found by
    # pointer jumping: the lowest key, and how many steps ahead it is, over windows of the ring that
    # double each pass (log2 of the longest ring passes).
    key = np.arange(count) + count * ~(on_border[predecessor] & ~on_border)
    head, ahead, jump, span = key, np.zeros(count, np.int64), successor, 1
    while True:  # a pass that improves no segment's head: every window holds its whole ring
        later_head = head[jump]
        better = later_head < head
        if not better.any():
            break
        head, ahead = np.where(better, later_head, head), np.where(better, ahead[jump] + span, ahead)
        jump, span = jump[jump], span * 2
    head %= max(count, 1)
    size = np.bincount(head, minlength=count)
    ring_start = np.cumsum(size) - size
    # The rings one after the other (in picture order), each from its head.
    order = np.empty(count, np.int64)
    order[ring_start[head] + (size[head] - ahead) % size[head]] = np.arange(count)
    # Each segment's start point, where its first edge crosses the level between two corners.
    edge, row, col, picture = first[order], row[order], col[order], picture[order]
    row0, col0 = row + (edge == 2), col + (edge == 1)
    row1, col1 = row0 + edge % 2, col0 + 1 - edge % 2
    low, high = padded[picture, row0, col0], padded[picture, row1, col1]
    with np.errstate(invalid="ignore"):  # an edge from the border: its two corners are one point
        fraction = np.nan_to_num((level - low) / (high - low))
    x = coordinates[col0] + fraction * (coordinates[col1] - coordinates[col0])
    y = coordinates[row0] + fraction * (coordinates[row1] - coordinates[row0])
    # Per segment in order: its start point, unless it runs along the border after another that
    # does; a gap after it if it starts a run along the border; after a ring's last segment inside
    # the grid, the ring's first point again (closing it) and a gap.
    on_border = on_border[order]
    is_first = np.zeros(count, bool)
    is_first[ring_start[size > 0]] = True
    last = np.roll(is_first, -1)
    previous = np.arange(count) - 1
    previous[is_first] = np.flatnonzero(last)
    after_border = on_border[previous]
    point, gap = ~(on_border & after_border), on_border & ~after_border
    closes = last & ~on_border
    slots = point.astype(np.int64) + gap + 2 * closes
    position = np.cumsum(slots) - slots
    out_x, out_y = np.full(int(slots.sum()), np.nan, np.float32), np.full(int(slots.sum()), np.nan, np.float32)
    out_x[position[point]], out_y[position[point]] = x[point], y[point]
    ring_first = np.flatnonzero(is_first)[np.cumsum(is_first) - 1]
    closing = position[closes] + point[closes]
    out_x[closing], out_y[closing] = x[ring_first[closes]], y[ring_first[closes]]
    ends = np.cumsum(np.bincount(picture, weights=slots, minlength=pictures).astype(np.int64))
    return [(out_x[start:end], out_y[start:end]) for start, end in zip(np.concatenate([[0], ends[:-1]]), ends)]
