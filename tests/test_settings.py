"""Every number a user can set is declared once, with a range, a default and a grid; the pages
build their sliders from these, and links and websocket values are checked against them."""

import math

import pytest

import gradlib
from gradlib.settings import GridSetting, Setting


def declared() -> list[Setting | GridSetting]:
    found = {id(v): v for module in (gradlib.chain, gradlib.multivar, gradlib.surrogates, gradlib.training,
                                     gradlib.networks, gradlib.fixes) for v in vars(module).values()
             if isinstance(v, (Setting, GridSetting))}
    found.update({id(s): s for spec in gradlib.OPTIMIZERS.values() for s in spec.settings})
    found.update({id(s): s for s in gradlib.fixes.PARAMETERS.values()})
    found.update({id(s): s for s in (gradlib.chain.backward_stages(d) for d in (1, 7, 12))})
    return list(found.values())


def test_at_least_the_pages_settings_are_declared():
    assert len(declared()) >= 20


@pytest.mark.parametrize("setting", declared(), ids=lambda s: f"{s.name}:{s.label}")
def test_every_grid_point_round_trips_and_the_default_is_one(setting):
    if isinstance(setting, GridSetting):
        assert setting.default in setting.options and list(setting.options) == sorted(set(setting.options))
        assert all(setting.on_grid(float(str(option))) == option for option in setting.options)
        return
    assert setting.on_grid(setting.default) == setting.default
    step_text = f"{setting.step}"
    for index in range(setting.points):
        value = setting.low + index * setting.step
        point = setting.on_grid(value)
        assert point is not None and setting.low <= point <= setting.high, (index, value)
        assert setting.on_grid(float(str(point))) == point and setting.snap(point) == point
        if not setting.whole:  # written as a person would, e.g. 0.15, not 0.15000000000000002
            assert len(str(point).split(".")[1]) <= max(setting.decimals, 1), (point, step_text)
    assert setting.on_grid(setting.high) == setting.high and setting.on_grid(setting.low) == setting.low


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e308, -1e308, "x", None])
def test_hostile_values_are_refused_or_snapped_into_the_range(value):
    for setting in [s for s in declared() if isinstance(s, Setting)]:
        assert setting.on_grid(value) is None
        if isinstance(value, float) and math.isfinite(value):
            assert setting.snap(value) in (setting.low, setting.high)


def test_off_grid_values():
    momentum = gradlib.training.MOMENTUM
    assert momentum.on_grid(0.3141592653589793) is None and momentum.on_grid(0.0500001) is None
    assert momentum.snap(0.0500001) == 0.05 and momentum.snap(0.99) == 0.99 and momentum.snap(0.9949) == 0.99
    depth = gradlib.chain.DEPTH
    assert depth.on_grid(7.5) is None and depth.on_grid(7.0) == 7 and isinstance(depth.on_grid(7.0), int)
