"""The names of the datasets a spec may ask for, with one line each for listings.

Kept here, torch-free, so a spec validates without importing any loader;
training/datasets.py maps each name to its loader (a test checks the two agree).
"""
DATASET_DESCRIPTIONS = {
    "fashion-mnist": "Fashion-MNIST, 60k/10k 28x28 grey images, 10 classes",
    "polynomial": "the textbook cubic with x^i/i! features (degree is a knob)",
    "linear-highdim": "200-dimensional linear regression, 20 training examples",
    "concrete-synthetic": "8 concrete-mix features on very different scales (kg/m^3, days)",
    "gaussian-linear": "x ~ N(0, I) in n_features dimensions, y = A x for a fixed random square A (deep linear nets)",
}
DATASET_NAMES = tuple(DATASET_DESCRIPTIONS)
