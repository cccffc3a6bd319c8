"""reglab: the Regularization Lab's probes and lessons for your own PyTorch model.

    import reglab

    with reglab.watch(model, name="my-cnn", hparams={"lr": 0.01}, every=50) as rec:
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(); loss.backward(); optimizer.step()
            rec.step(loss=loss)
        rec.log("test", "accuracy", test_accuracy, epoch=1)

The run folder it writes is a standard lab run (spec.json, status.json, metrics.sqlite):
it shows on the Runs page, in comparisons and exports, while the loop runs and after.
After training, `sample_subnetworks`, `mc_average` (models with nn.Dropout) and
`bn_train_vs_eval` (models with BatchNorm) run the lab's dropout and BN lessons on it.

The names below are the public API; their docstrings are its reference.
"""
from reglab.analyses import bn_train_vs_eval, mc_average, sample_subnetworks
from reglab.layers import ReglabError, default_layers
from reglab.recorder import Recorder, ReglabWarning
from reglab.watch import custom_spec, watch

__version__ = "0.1.0"

__all__ = ["watch", "Recorder", "sample_subnetworks", "mc_average", "bn_train_vs_eval", "default_layers",
           "custom_spec", "ReglabError", "ReglabWarning", "__version__"]
