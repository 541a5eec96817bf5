import itertools
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from gradlib import MAX_STEPS, OPTIMIZERS, STEPS, SURROGATES, TrainingConfig, train, train_in_chunks
from gradlib.training import _XLA_POOL, _Trainer, trace_count

REQUIRED_OPTIMIZERS = {"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam", "lion"}


def _same(a, b):
    for name, values in a.columns().items():
        np.testing.assert_array_equal(values, b.columns()[name], err_msg=name)
    assert a.stopped == b.stopped


def test_registry_has_the_required_optimizers():
    assert REQUIRED_OPTIMIZERS <= set(OPTIMIZERS)


def test_learning_rate_grid_is_1_2_5_per_decade_and_prints_plainly():
    from gradlib.training import LEARNING_RATE

    assert LEARNING_RATE.options[:4] == (1e-4, 2e-4, 5e-4, 1e-3) and LEARNING_RATE.options[-1] == 10.0
    assert LEARNING_RATE.default in LEARNING_RATE.options
    assert "0.0002" in map(str, LEARNING_RATE.options)  # links name values as Python prints them


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_learns_through_the_surrogate(optimizer):
    history = train(TrainingConfig(optimizer=optimizer, steps=300))
    assert len(history) == 300 and history.stopped is None
    assert history.y[0] == -1 and history.y[-1] == 1, "x should cross 0 so that sign(x) reaches the target"
    assert history.loss[-1] == 0
    for name, values in history.state.items():
        assert values.shape == (300,) and np.all(np.isfinite(values)), name


def test_sgd_step_is_learning_rate_times_surrogate_gradient():
    history = train(TrainingConfig(optimizer="sgd", settings={"learning_rate": 0.5}, steps=1))
    sigma = 1 / (1 + np.exp(1.0))  # sigmoid(-1)
    grad = -2 * sigma * (1 - sigma)  # d/dx l2_loss(sign(x) - 1) = (y - 1) * g(x), y = -1
    assert history.grad[0] == pytest.approx(grad, rel=1e-6)
    assert history.x[0] == pytest.approx(-1 - 0.5 * grad, rel=1e-6)


def test_zero_surrogate_never_moves():
    history = train(TrainingConfig(surrogate="zero", steps=50))
    assert np.all(history.x == -1.0) and np.all(history.grad == 0)


def test_chunks_stream_the_same_run():
    config = TrainingConfig(optimizer="nadam", steps=250)
    chunks = list(train_in_chunks(config, chunk_steps=100))
    assert [len(h) for h in chunks] == [100, 200, 250]
    _same(chunks[-1], train(config))


def test_deterministic_and_nothing_carries_over_between_runs():
    first = train(TrainingConfig(optimizer="adam", steps=120))
    train(TrainingConfig(optimizer="adam", x0=3.0, target=-1.0, settings={"learning_rate": 2.0}, steps=77))
    _same(first, train(TrainingConfig(optimizer="adam", steps=120)))


def test_new_settings_reuse_the_compiled_loop():
    train(TrainingConfig(optimizer="adamw", surrogate="atan"))
    before = trace_count()
    for config in [
        TrainingConfig(optimizer="adamw", surrogate="atan", x0=0.5, target=-1.0, scale=4.0, steps=10),
        TrainingConfig(optimizer="adamw", surrogate="atan", settings={"learning_rate": 0.01, "beta_1": 0.5,
                                                                     "beta_2": 0.9, "weight_decay": 0.1}),
    ]:
        train(config)
    assert trace_count() == before


def test_traced_settings_take_effect():
    slow = train(TrainingConfig(optimizer="adam", settings={"beta_1": 0.0}, steps=5))
    fast = train(TrainingConfig(optimizer="adam", settings={"beta_1": 0.9}, steps=5))
    # Adam's first moment after one step is (1 - beta_1) * grad.
    assert slow.state["momentum"][0] == pytest.approx(slow.grad[0])
    assert fast.state["momentum"][0] == pytest.approx(0.1 * fast.grad[0], rel=1e-6)


def test_momentum_takes_effect():
    low = train(TrainingConfig(optimizer="momentum", settings={"momentum": 0.1}, steps=3))
    high = train(TrainingConfig(optimizer="momentum", settings={"momentum": 0.9}, steps=3))
    assert low.x[2] != high.x[2]


def test_two_threads_get_their_solo_results():
    configs = [TrainingConfig(optimizer="adam", steps=400),
               TrainingConfig(optimizer="adam", surrogate="atan", x0=2.0, target=-1.0, steps=400,
                              settings={"learning_rate": 0.03})]
    solo = [train(c) for c in configs]
    results: dict[int, list] = {0: [], 1: []}

    def work(index):
        for _ in range(5):
            results[index].append(train(configs[index]))

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for index in (0, 1):
        for history in results[index]:
            _same(history, solo[index])


def test_non_finite_values_stop_training_with_a_reason():
    # loss = (sign(x) - 1e20)^2 / 2 overflows float32 at the first step.
    history = train(TrainingConfig(target=1e20, steps=10))
    assert len(history) == 0 and "Step 0" in history.stopped and "loss" in history.stopped


def test_diverging_run_keeps_the_history_up_to_the_first_non_finite_step():
    # AdamW decays x by the factor (1 - lr * weight_decay) = -4 each step: |x| grows 4x per step
    # until it overflows float32, after roughly 64 steps.
    history = train(TrainingConfig(optimizer="adamw", settings={"learning_rate": 10.0, "weight_decay": 0.5},
                                   steps=200))
    assert 10 < len(history) < 200
    assert f"Step {len(history)}:" in history.stopped and "x" in history.stopped
    assert all(np.all(np.isfinite(values)) for values in history.columns().values())
    assert abs(history.x[-1]) > 1e36


@pytest.mark.parametrize("config, message", [
    (TrainingConfig(steps=0), "steps must be between 1 and 5000"),
    (TrainingConfig(steps=MAX_STEPS + 1), "steps must be between 1 and 5000"),
    (TrainingConfig(optimizer="adadelta"), "unknown optimizer 'adadelta'"),
    (TrainingConfig(surrogate="relu"), "unknown surrogate 'relu'"),
    (TrainingConfig(x0=float("nan")), "x0 must be finite"),
    (TrainingConfig(settings={"learning_rate": 100.0}), "learning_rate must be between"),
    (TrainingConfig(settings={"momentum": 0.9}), "Adam has no setting momentum"),
    (TrainingConfig(surrogate="ste", scale=2.0), "has no scale parameter"),
])
def test_bad_configs_raise_value_error(config, message):
    with pytest.raises(ValueError, match=message):
        train(config)


def test_every_surrogate_and_optimizer_is_usable_by_id():
    for surrogate in SURROGATES:
        assert len(train(TrainingConfig(surrogate=surrogate, steps=3))) == 3


def _close(history, columns):
    # XLA rounds differently from TensorFlow's kernels (its own exp, fused multiply-adds).
    for name, values in columns.items():
        np.testing.assert_allclose(history.columns()[name], values, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_forward_and_surrogate_runs_in_the_optimizers_xla_program(optimizer):
    graph = _Trainer(optimizer, None, xla=False)
    for forward, surrogate in itertools.product(STEPS, SURROGATES):
        config = TrainingConfig(forward=forward, surrogate=surrogate, optimizer=optimizer, x0=0.3, target=-1.0,
                                steps=5)
        _close(train(config), graph.chunk(config, config.resolved_settings(), 0, config.steps))


def test_a_typed_formula_runs_as_a_graph_and_would_compile_in_xla_too():
    # Every function of the formula language: XLA compiles them all; a typed formula still runs as a
    # graph, since each would be an XLA program of its own, which TensorFlow never frees.
    every_function = ("sin(x)+cos(x)+tan(x)+exp(x)+log(2+x)+sqrt(2+x)+abs(x)+tanh(x)+sigmoid(x)+softplus(x)"
                      "+log1p(2+x)+hardtanh(x)+erf(x)+sign(x)+relu(x)+cosh(x)+atan(x)+pi+e")
    config = TrainingConfig(surrogate="custom", backward=every_function, optimizer="nadam", x0=0.3, target=-1.0,
                            steps=5)
    xla_trainers = len(_XLA_POOL)
    history = train(config)
    assert history.grad[0] != 0 and len(_XLA_POOL) == xla_trainers
    xla = _Trainer(config.optimizer, config.backward, xla=True).chunk(config, config.resolved_settings(), 0, 5)
    _close(history, xla)


def test_one_xla_program_per_optimizer_is_kept_and_serves_every_structure():
    for optimizer in OPTIMIZERS:
        train(TrainingConfig(optimizer=optimizer, steps=2))
    before = trace_count()
    for forward, surrogate in itertools.product(STEPS, ["ste", "gaussian", "zero"]):
        train(TrainingConfig(forward=forward, surrogate=surrogate, optimizer="adagrad", steps=7))
    assert trace_count() == before and len(_XLA_POOL) == len(OPTIMIZERS)


def test_a_new_number_of_steps_needs_no_new_xla_compile():
    # A loop over tf.range(steps) made XLA compile again for each new ``steps`` (0.1-0.35 s, against
    # ~1 ms for a run): a ratio of times, so a slow machine does not matter.
    config = TrainingConfig(optimizer="rmsprop", steps=10)
    train(config)

    def fastest(configs):
        times = []
        for c in configs:
            started = time.perf_counter()
            train(c)
            times.append(time.perf_counter() - started)
        return min(times)

    assert fastest([replace(config, steps=s) for s in (11, 12, 13)]) < 10 * fastest([config] * 3)


def test_runs_sharing_a_program_do_not_affect_each_other():
    config = TrainingConfig(forward="heaviside", surrogate="gaussian", optimizer="lion", steps=50)
    first = train(config)
    train(TrainingConfig(surrogate="ste", optimizer="lion", x0=2.0, target=-1.0, steps=33))
    abandoned = train_in_chunks(TrainingConfig(surrogate="triangle", optimizer="lion", x0=0.5), chunk_steps=7)
    next(abandoned)
    abandoned.close()  # a Play stopped half way: the next run still starts from its own x0
    _same(first, train(config))
