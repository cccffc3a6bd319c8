"""The Keras course's batch-normalization exercise on the real Concrete data (REFERENCES 1,
"The Keras lesson on dropout and BN"; Yeh 1998, UCI id 165, CC BY 4.0).

The course's setup: the 8 features left in their units (hundreds of kg/m^3, age in days),
a 70/30 split, Dense 512-512-512 ReLU -> Dense 1, optimizer='sgd' (Keras SGD: lr 0.01,
no momentum), loss 'mae', batch 64, 100 epochs. Without BN training usually fails; with
a BatchNormalization layer before every Dense layer it trains (one copy of the notebook
reached a minimum validation MAE of about 4.1).

How the Keras layout maps onto ModelSpec. A hidden block here is
linear -> [BN "before"] -> act -> [BN "after"] -> dropout, so "before"/"after" are
relative to the activation, not to the Dense layer. The course's
    BN, Dense(relu), BN, Dense(relu), BN, Dense(relu), BN, Dense(1)
puts BN in front of every Dense layer: that is input_batchnorm (the BN in front of the
first Dense) plus batchnorm="after" (each ReLU's output normalised before it feeds the
next Dense, the last one in front of the output layer). batchnorm="before" is Ioffe &
Szegedy's placement, between each Dense and its ReLU, kept here as a contrast.

Not reproduced exactly: Keras initialises Dense weights Glorot-uniform (here torch's
default, U(+-1/sqrt(fan_in))), and its BN keeps running statistics with momentum 0.99 and
eps 1e-3 (here torch's 0.1 and 1e-5). The validation MAE is this lab's test-split MAE.
"""

from training.presets.base import Preset, collect


KERAS_CONCRETE = {
    "data": {"name": "concrete", "normalize": "none"},
    "model": {"widths": [512, 512, 512], "activation": "relu", "batchnorm": "none"},
    "optim": {"name": "sgd", "lr": 0.01},
    "loss": "mae",
    "epochs": 100,
    "batch_size": 64,
    "probe_every": 24,
    "probes": {"tracked_units": 5, "histogram_bins": 30},
}


def _variant(**model) -> dict:
    return {**KERAS_CONCRETE, "model": {**KERAS_CONCRETE["model"], **model}}


# The course's dropout layout is Dense(relu) -> Dropout(0.3) -> BN; here dropout comes last
# in a block, so this is Dense(relu) -> BN -> Dropout(0.3): the same layers, BN and dropout
# swapped (the next Dense sees dropped units rather than re-normalised ones).
KERAS_CONCRETE_NOBN = Preset(
    "keras-concrete-nobn",
    "Keras BN exercise, real Concrete data, raw features: 512-512-512 ReLU, SGD lr 0.01, MAE, batch 64, "
    "100 epochs, no BN (the course: training usually fails)",
    _variant(),
)
KERAS_CONCRETE_BN = Preset(
    "keras-concrete-bn",
    "The course's fix: BatchNormalization before every Dense layer (input BN, then BN after each ReLU)",
    _variant(input_batchnorm=True, batchnorm="after"),
)
KERAS_CONCRETE_BN_PREACT = Preset(
    "keras-concrete-bn-preact",
    "Input BN plus BN between each Dense and its ReLU (Ioffe & Szegedy's placement), same budget",
    _variant(input_batchnorm=True, batchnorm="before"),
)
KERAS_CONCRETE_INPUTBN = Preset(
    "keras-concrete-inputbn",
    "Only the input BN (an adaptive standardiser of the raw features), no BN in the hidden layers",
    _variant(input_batchnorm=True),
)
KERAS_CONCRETE_DROPOUT_BN = Preset(
    "keras-concrete-dropout-bn",
    "The course's dropout + BN model on Concrete: input BN, each ReLU -> BN -> dropout 0.3",
    _variant(input_batchnorm=True, batchnorm="after", dropout=0.3),
)
PRESETS = collect(
    KERAS_CONCRETE_NOBN,
    KERAS_CONCRETE_BN,
    KERAS_CONCRETE_BN_PREACT,
    KERAS_CONCRETE_INPUTBN,
    KERAS_CONCRETE_DROPOUT_BN,
)

SWEEPS: dict = {}
