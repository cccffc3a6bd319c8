"""The names of the datasets a spec may ask for, with one line each for listings.

Kept here, torch-free, so a spec validates without importing any loader;
training/datasets.py maps each name to its loader (a test checks the two agree).
"""
DATASET_DESCRIPTIONS = {
    "fashion-mnist": "Fashion-MNIST, 60k/10k 28x28 grey images, 10 classes",
    "polynomial": "the textbook cubic with x^i/i! features (degree is a knob)",
    "linear-highdim": "200-dimensional linear regression, 20 training examples",
    "concrete": "Concrete compressive strength (Yeh 1998, UCI): 1,030 mixes, 8 inputs in kg/m^3 and days",
    "concrete-synthetic": "a synthetic stand-in for concrete (same 8 feature ranges), for tests",
    "red-wine": "red wine quality (UCI): 1,599 wines, 11 inputs, quality score; a CSV you name",
    "spotify": "Spotify songs: popularity from 12 audio features, split by artist; a CSV you name",
    "gaussian-linear": "x ~ N(0, I) in n_features dimensions, y = A x for a fixed random square A (deep linear nets)",
}
DATASET_NAMES = tuple(DATASET_DESCRIPTIONS)
