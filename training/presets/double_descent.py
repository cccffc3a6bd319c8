"""Double descent in SGD-trained networks (REFERENCES 2.7 and 4; Nakkiran et al. 2019,
Belkin et al. 2019): one-hidden-layer ReLU nets trained to interpolation.

The Yang et al. width sweep (bias_variance.py) never fits its noisy labels (weight decay on,
a few hundred steps), so it has no interpolation threshold to peak at. Here every width is
trained until the wide nets fit every training label: Adam lr 1e-3 (Nakkiran's optimiser),
no weight decay, cross-entropy, batches of 128, 2,000 epochs on 1,000 images, 20% of them
relabelled at random (Nakkiran: 10-20%), and the same with clean labels.

Why 7x7 inputs (each 4x4 pixel block averaged): with 784 inputs a hidden unit carries 795
weights, so a net fits 1,000 noisy labels from width ~16 on, and every width below that is
too narrow to fit even the signal: no room for the classical regime before the threshold
(tried: no peak, test error falling from width 4 to 64). With 49 inputs the threshold moves
to width ~300-500 (about 20-30k parameters, 2-3 x n x classes), widths 16-64 fit the signal
and not the noise, and each width costs a sixteenth. All 10,000 test images score each
width, at ~20 epochs per decade ("log" schedule) for Nakkiran's epoch-wise view.

The widths train as ensembles (model.member_widths): member k of one job keeps only its
first w_k hidden units, is drawn and batched exactly as a single run of width w_k with the
same seed, and gets only its own gradient. Widths of similar size share a job, so the
padding wastes little while 16k optimizer steps are paid per job instead of per width.
"""

from training.presets.base import Preset, collect

DD_N_TRAIN, DD_EPOCHS, DD_LABEL_NOISE = 1_000, 2_000, 0.2
NOISY_GROUPS = ((8, 16, 32, 64, 128), (256, 384, 512), (768, 1024), (2048,))
CLEAN_GROUPS = ((8, 16, 32, 64, 128), (256, 512), (1024,))   # fitted earlier: the grid can stop at 1024

INTERPOLATION = {
    "data": {"name": "fashion-mnist", "n_train": DD_N_TRAIN, "downsample": 4},
    "model": {"kind": "mlp", "widths": [64], "activation": "relu"},
    "loss": "cross-entropy",
    "optim": {"name": "adam", "lr": 1e-3},
    "batch_size": 128,
    "epochs": DD_EPOCHS,
    "ensemble_data": "same",
    "ensemble_init": "same",      # every member is the seed-0 run of its width
    "probe_every": 1_000_000,     # no mid-epoch probes: the scores come from the scored epoch ends
    "probes": {"activations": False, "weights": False, "eval_max": 10_000, "score_epochs": "log"},
    "checkpoint_every_epoch": False,
}


def _group(widths: tuple[int, ...], label_noise: float) -> dict:
    return {**INTERPOLATION, "ensemble": len(widths),
            "data": {**INTERPOLATION["data"], "label_noise": label_noise},
            "model": {**INTERPOLATION["model"], "widths": [max(widths)], "member_widths": list(widths)}}


def _presets(prefix: str, groups: tuple[tuple[int, ...], ...], label_noise: float, what: str) -> tuple[Preset, ...]:
    return tuple(Preset(f"{prefix}-w{g[0]}-{g[-1]}" if len(g) > 1 else f"{prefix}-w{g[0]}",
                        f"trained to interpolation (Adam, no weight decay, 2k epochs, 1,000 images at 7x7), {what}, "
                        f"widths {', '.join(map(str, g))} as one ensemble", _group(g, label_noise))
                 for g in groups)


DD_NOISY = _presets("dd-noisy", NOISY_GROUPS, DD_LABEL_NOISE, "20% of the labels replaced at random")
DD_CLEAN = _presets("dd-clean", CLEAN_GROUPS, 0.0, "clean labels")
PRESETS = collect(*DD_NOISY, *DD_CLEAN)
SWEEPS: dict = {}
