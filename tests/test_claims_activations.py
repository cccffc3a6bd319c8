"""The activations lesson's sentences, pinned to the demo cache (the frames its charts draw)."""
from __future__ import annotations

from tests.test_claims import LESSONS, claim, shown

L07 = LESSONS / "07-activations.md"


def _ratios() -> dict[str, float]:
    frame = shown("deep-grad-norms")
    return {net: g.iloc[0]["grad_norm"] / g.iloc[-2]["grad_norm"] for net, g in frame.groupby("net", sort=False)}


def _zeros() -> dict[str, float]:
    return shown("deep-dead-units").groupby("net", sort=False)["fraction"].mean().to_dict()


def test_l07_the_sigmoid_derivative_peaks_at_a_quarter():
    frame = shown("activation-derivatives")
    d = frame[frame["curve"] == "f'(x)"].groupby("activation")["value"].max()
    claim(L07, "The sigmoid's derivative s(1 - s) peaks at 0.25 at x = 0 and is almost 0 in the tails; tanh's, "
               "1 - tanh², peaks at 1.", abs(d["sigmoid"] - 0.25) < 1e-9 and abs(d["tanh"] - 1) < 1e-9, d.to_dict())


def test_l07_gradients_vanish_in_the_sigmoid_net_only():
    r = _ratios()
    claim(L07, "in the sigmoid net the first layer gets less than a thousandth of the gradient the last hidden layer "
               "gets", r["sigmoid"] < 1e-3, r)
    claim(L07, "tanh and ReLU pass the gradient on within a factor of two.",
          all(0.5 <= r[net] <= 2 for net in ("tanh", "relu")), r)


def test_l07_a_large_learning_rate_kills_relus():
    z = _zeros()
    claim(L07, "At lr 1 most outputs of every hidden layer are 0, against about half at lr 0.1",
          z["relu, lr 1"] > 0.75 and 0.35 <= z["relu"] <= 0.6, z)
    frame = shown("deep-dead-units")
    claim(L07, "most outputs of every hidden layer are 0",
          (frame[frame["net"] == "relu, lr 1"]["fraction"] > 0.5).all(), frame)


def test_l07_the_dead_relu_net_stays_at_chance():
    from cache import store
    from tests.test_claims import DEMO
    from training.presets import activations as act
    from ui.lesson_runs import run_folders

    folder = run_folders([act.DEEP_RELU_HIGH_LR.name], DEMO)[act.DEEP_RELU_HIGH_LR.name]
    accuracy = store.read_status(folder)["final"]["test_accuracy"]
    claim(L07, "and the net stays at chance accuracy.", accuracy < 0.12, accuracy)


def _accuracy(name: str) -> float:
    from cache import store
    from tests.test_claims import DEMO
    from ui.lesson_runs import run_folders

    return store.read_status(run_folders([name], DEMO)[name])["final"]["test_accuracy"]


def test_l07_bn_rescues_the_sigmoid_net():
    from training.presets import activations as act

    r = _ratios()
    claim(L07, "BN before each sigmoid keeps its inputs near 0, where the derivative is largest, and the gradient "
               "reaches the first layer", r["sigmoid + BN"] > 0.5, r)
    bn, plain = _accuracy(act.DEEP_SIGMOID_BN.name), _accuracy(act.DEEP_SIGMOID.name)
    claim(L07, "that net reaches 79% test accuracy in 3 epochs, while the plain sigmoid net is still at chance.",
          round(bn, 2) == 0.79 and plain < 0.12, (bn, plain))


def test_l07_bn_keeps_relus_alive_at_the_large_rate():
    frame = shown("deep-dead-units")
    bn = frame[frame["net"] == "relu, lr 1 + BN"]["fraction"]
    claim(L07, "With BN before each ReLU the unit's input is re-centred on every batch, so it cannot stay negative "
               "everywhere.", (bn < 0.75).all() and bn.mean() < 0.6, bn.tolist())


def test_readme_activation_rows():
    from tests.test_claims import README
    from training.presets import activations as act

    r, z = _ratios(), _zeros()
    acc = {name: _accuracy(p.name) for name, p in (("sigmoid", act.DEEP_SIGMOID), ("bn", act.DEEP_SIGMOID_BN))}
    claim(README, f"sigmoid {r['sigmoid']:.2g}, tanh {r['tanh']:.2g}, ReLU {r['relu']:.2g}, sigmoid + BN "
                  f"{r['sigmoid + BN']:.2g}; test accuracy sigmoid {acc['sigmoid']:.2f}, sigmoid + BN {acc['bn']:.2f}",
          True, (r, acc))
    claim(README, f"{z['relu']:.0%} / {z['relu, lr 1']:.0%} / {z['relu, lr 1 + BN']:.0%}", True, z)


# ---------------------------------------------------------------- pReLU's learned slope

def _prelu_folder():
    from tests.test_claims import DEMO
    from training.presets import activations as act
    from ui.lesson_runs import run_folders

    return run_folders([act.DEEP_PRELU.name], DEMO)[act.DEEP_PRELU.name]


def test_l07_the_committed_slopes_are_the_checkpoints_prelu_weights():
    from cache import store

    frame, model = shown("prelu-slopes"), store.load_model(_prelu_folder(), "final")
    weights = [float(block.act.weight.detach().reshape(-1)[0]) for block in model.hidden.values()]
    assert frame["layer"].tolist() == list(model.hidden) and frame["slope"].tolist() == weights


def test_l07_every_prelu_slope_rose_above_its_start():
    slopes = shown("prelu-slopes")["slope"]
    claim(L07, "every layer's slope rose above its initial 0.25, to between 0.29 and 0.35.",
          (slopes > 0.25).all() and round(slopes.min(), 2) == 0.29 and round(slopes.max(), 2) == 0.35,
          slopes.tolist())


def test_l07_the_derivative_chart_draws_prelu_at_the_learned_mean_slope():
    mean = shown("prelu-slopes")["slope"].mean()
    frame = shown("activation-derivatives")
    left = frame[(frame["activation"] == "prelu") & (frame["curve"] == "f'(x)") & (frame["x"] < 0)]["value"]
    claim(L07, "The derivative chart of the first step draws pReLU at their mean, so its f'(x) left of 0 is the "
               "learned a", (abs(left - mean) < 1e-12).all() and abs(mean - 0.25) > 0.01, (mean, left.unique()))


def test_readme_prelu_row():
    from tests.test_claims import README
    from training.presets import activations as act

    slopes = shown("prelu-slopes")["slope"]
    claim(README, " / ".join(f"{s:.3f}" for s in slopes) + f" (mean {slopes.mean():.3f}): every layer's slope rose; "
                  f"test accuracy {_accuracy(act.DEEP_PRELU.name):.2f} (the ReLU net: {_accuracy(act.DEEP_RELU.name):.2f})",
          (slopes > 0.25).all(), slopes.tolist())


# ---------------------------------------------------------------- the textbook MLP, from scratch and nn.Sequential

def _versions():
    from tests.test_claims import DEMO
    from training.presets import core
    from ui import data
    from ui.lesson_runs import run_folders

    folder = run_folders([core.D2L_MLP.name], DEMO)[core.D2L_MLP.name]
    return data.load_table(folder, "scratch_vs_concise"), folder


def test_the_committed_cache_holds_both_listings_on_the_full_data_and_they_agree():
    from analysis import activations as act
    from cache import store

    table, folder = _versions()
    assert sorted(table["epoch"].unique()) == list(range(1, 11)) and set(table["version"]) == {"scratch", "concise"}
    assert int(table["test_images"].iloc[0]) == 10_000 and store.read_spec(folder).data.n_train is None
    gaps = act.version_gaps(table)
    assert gaps["loss"] < 5e-4 and gaps["test_accuracy"] < 5e-3, gaps       # measured: 1.3e-4 and 1.8e-3
    curves = shown("mlp-scratch-vs-concise")
    assert len(curves) == 2 * 2 * 10 and curves["value"].notna().all()
    first, last = table[table["epoch"] == 1]["loss"].mean(), table[table["epoch"] == 10]["loss"].mean()
    assert last < 0.5 * first                                                 # both learn


def test_readme_mlp_row():
    from analysis import activations as act
    from tests.test_claims import README

    table, _ = _versions()
    gaps, end = act.version_gaps(table), table[table["epoch"] == 10].set_index("version")
    claim(README, f"largest difference over the epochs {gaps['loss']:.1e} in training loss, {gaps['test_accuracy']:.1e} "
                  f"in test accuracy ({round(gaps['test_accuracy'] * 10_000)} of 10,000 images); after epoch 10: "
                  f"{end.loc['scratch', 'loss']:.4f} vs {end.loc['concise', 'loss']:.4f}, "
                  f"{end.loc['scratch', 'test_accuracy']:.4f} vs {end.loc['concise', 'test_accuracy']:.4f}",
          True, gaps)
