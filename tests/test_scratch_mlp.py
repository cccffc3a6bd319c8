"""The textbook's MLP from scratch and the concise nn.Sequential version agree: same init,
same batches, same losses and weights after training (on the committed Fashion-MNIST subset)."""
from __future__ import annotations

import torch

from runspec import DataSpec
from training.datasets import load_dataset
from training.scratch_mlp import largest_difference, train_both


def test_scratch_and_concise_mlp_agree_step_for_step():
    data = load_dataset(DataSpec(name="fashion-mnist", n_train=1024, n_test=256))
    rows, params, net = train_both(data.x_train.reshape(len(data.x_train), -1), data.y_train, epochs=2)
    by_epoch = {}
    for row in rows:
        by_epoch.setdefault(row["epoch"], {})[row["version"]] = row["loss"]
    for epoch, losses in by_epoch.items():
        assert abs(losses["scratch"] - losses["concise"]) < 1e-5, (epoch, losses)
    assert by_epoch[2]["scratch"] < by_epoch[1]["scratch"]          # it learns
    assert largest_difference(params, net) < 1e-5


def test_in_float64_the_two_listings_agree_to_rounding_and_score_the_test_set_alike():
    """The float32 gap the Activations page shows on 60,000 images is rounding: the two listings do
    the same arithmetic in a different order (x @ W + b vs Linear's addmm, SGD by hand vs torch's)."""
    data = load_dataset(DataSpec(name="fashion-mnist", n_train=1024, n_test=256))
    flat = data.x_train.reshape(len(data.x_train), -1)
    test = (data.x_test.reshape(len(data.x_test), -1).double(), data.y_test)
    rows, params, net = train_both(flat.double(), data.y_train, epochs=2, test=test)
    by_epoch = {}
    for row in rows:
        by_epoch.setdefault(row["epoch"], {})[row["version"]] = row
    for epoch, pair in by_epoch.items():
        assert abs(pair["scratch"]["loss"] - pair["concise"]["loss"]) < 1e-12, (epoch, pair)
        assert pair["scratch"]["test_accuracy"] == pair["concise"]["test_accuracy"], (epoch, pair)
    assert params[0].dtype == torch.float64 and largest_difference(params, net) < 1e-12


def test_the_mlp_lessons_post_processing_stores_both_listings_and_postprocess_again_redoes_it(tmp_path, capsys):
    """A finished d2l-mlp run (tiny) gets the scratch_vs_concise table from its lesson's hook;
    `postprocess RUN_ID --again` rewrites it on a run marked post-processed."""
    from cache import store
    from cli import main
    from postprocess import scratch_mlp
    from tests.conftest import build_run, tiny
    from training.presets import PRESETS

    spec = tiny(PRESETS["d2l-mlp"].spec, epochs=2, data__n_train=256, data__n_test=128, model__widths=[8])
    folder = build_run(spec, tmp_path)
    store.write_status(folder, postprocessed=True)
    assert main(["--cache-dir", str(tmp_path), "postprocess", folder.name]) == 0
    assert store.read_table(folder, scratch_mlp.TABLE).empty                 # already post-processed: nothing
    assert main(["--cache-dir", str(tmp_path), "postprocess", folder.name, "--again"]) == 0
    table = store.read_table(folder, scratch_mlp.TABLE)
    assert sorted(table["epoch"].unique()) == [1, 2] and set(table["test_images"]) == {128}
    assert scratch_mlp.comparable(tiny(spec, model__widths=[8, 8], optim__momentum=0.9)) == \
        "the textbook listings need one hidden layer, plain SGD"
