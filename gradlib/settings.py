"""The numbers a user can set, each declared once: its range, its default and the grid it moves on.

The engine checks its arguments against these, and the dashboard's sliders are built from them,
so a range shown on a page is always the range the engine accepts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gradlib.core import require_finite, require_in_range, require_int_in_range


@dataclass(frozen=True)
class Setting:
    """A number from ``low`` to ``high`` on the grid ``low + i * step``. An integer ``step`` makes
    it a whole-number setting."""

    name: str  # as the engine calls it (a Keras argument, a config field)
    label: str  # as a person reads it
    default: float
    low: float
    high: float
    step: float

    @property
    def whole(self) -> bool:
        return isinstance(self.step, int)

    @property
    def decimals(self) -> int:
        """Decimal places that write every grid point exactly (0.05 → 2)."""
        return max(0, *(-Decimal(str(v)).as_tuple().exponent for v in (self.step, self.low)))

    @property
    def points(self) -> int:
        return round((self.high - self.low) / self.step) + 1

    def _point(self, index: int) -> float:
        if self.whole:
            return self.low + index * self.step
        # Rounded to the grid's decimals, so 0.15 is 0.15 and not 0.15000000000000002, and
        # kept inside the range, which rounding of low + index * step can leave by one ulp.
        return min(max(round(self.low + index * self.step, self.decimals), self.low), self.high)

    def on_grid(self, value: float) -> float | None:
        """``value`` as its grid point, or None if it is not (within rounding) a point of the grid.
        A slider's grid bounds how many distinct values there are."""
        try:
            number = require_in_range(value, self.low - self.step / 2, self.high + self.step / 2, self.name)
        except ValueError:
            return None
        index = round((number - self.low) / self.step)
        if not 0 <= index < self.points or abs(number - (self.low + index * self.step)) > 1e-9 * self.step:
            return None
        return self._point(index)

    def snap(self, value: float) -> float:
        """The nearest grid point (for values that arrive off the grid)."""
        number = min(max(require_finite(value, self.name), self.low), self.high)
        return self._point(round((number - self.low) / self.step))

    def check(self, value: float) -> float:
        if self.whole:
            return require_int_in_range(value, self.low, self.high, self.name)
        return require_in_range(value, self.low, self.high, self.name)


@dataclass(frozen=True)
class GridSetting:
    """A number chosen from a short list, e.g. learning rates 1-2-5 per decade."""

    name: str
    label: str
    default: float
    options: tuple[float, ...]

    def on_grid(self, value: float) -> float | None:
        return next((option for option in self.options if option == value), None)

    def check(self, value: float) -> float:
        """The engine takes any value in the grid's range; a page offers the grid."""
        return require_in_range(value, min(self.options), max(self.options), self.name)


def one_two_five(low_exponent: int, high_exponent: int) -> tuple[float, ...]:
    """1, 2, 5 × 10^e for e in [low, high), then 10^high: order-of-magnitude steps."""
    return tuple(float(f"{m}e{e}") for e in range(low_exponent, high_exponent) for m in (1, 2, 5)) + (
        float(f"1e{high_exponent}"),)
