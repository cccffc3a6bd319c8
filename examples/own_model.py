"""Your own model in the lab: a small CNN trained in a plain PyTorch loop, watched by reglab.

Run it from the repository root with `python -m examples.own_model` (or, after
`pip install -e .`, as `python examples/own_model.py` from anywhere), then `make app` and open
the Runs page: the run is under "My runs", with its activation distributions, weight norms
and train/test curves, comparable with any other run.

The data here is synthetic (28x28 images of a horizontal, vertical or diagonal bar in
strong noise) so that the script runs anywhere, offline; swap in your own DataLoader.
"""
import torch
from torch import nn
from torch.nn import functional as F

import reglab


def bars(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n noisy 1x28x28 images, each with one bar: class 0 horizontal, 1 vertical, 2 diagonal."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 1, 28, 28, generator=g)
    at = torch.randint(4, 24, (n,), generator=g)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, at[i], :] += 2.0
        elif y[i] == 1:
            x[i, 0, :, at[i]] += 2.0
        else:
            x[i, 0].diagonal().add_(2.0)
    return x, y


class SmallCNN(nn.Module):
    def __init__(self, dropout: float = 0.3):
        super().__init__()
        self.conv1, self.bn1, self.act1 = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.conv2, self.bn2, self.act2 = nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()
        self.pool, self.drop = nn.MaxPool2d(2), nn.Dropout(dropout)
        self.head = nn.Linear(16 * 7 * 7, 3)

    def forward(self, x):
        x = self.pool(self.act1(self.bn1(self.conv1(x))))        # [B, 8, 14, 14]
        x = self.pool(self.act2(self.bn2(self.conv2(x))))        # [B, 16, 7, 7]
        return self.head(self.drop(x.flatten(1)))


@torch.no_grad()
def evaluate(model, x, y) -> tuple[float, float]:
    model.eval()
    logits = model(x)
    model.train()
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def main(epochs: int = 3, n_train: int = 1024, n_test: int = 512, lr: float = 0.05, batch_size: int = 64,
         seed: int = 0):
    torch.manual_seed(seed)
    x_train, y_train = bars(n_train, seed=1)
    x_test, y_test = bars(n_test, seed=2)
    model = SmallCNN(dropout=0.3)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    hparams = {"optimizer": "sgd", "lr": lr, "momentum": 0.9, "batch_size": batch_size, "epochs": epochs,
               "dropout": 0.3, "seed": seed, "n_train": n_train}
    steps_per_epoch = n_train // batch_size

    # every=20: the probes run every 20 optimizer steps, on a fixed batch of test images
    with reglab.watch(model, name="bars-cnn", hparams=hparams, every=20, probe_input=x_test[:256],
                      total_steps=epochs * steps_per_epoch, overwrite=True) as rec:
        for epoch in range(epochs):
            order = torch.randperm(n_train)
            for b in range(steps_per_epoch):
                idx = order[b * batch_size:(b + 1) * batch_size]
                loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                rec.step(loss=loss)                                   # after optimizer.step()
            for split, (x, y) in (("train", (x_train, y_train)), ("test", (x_test, y_test))):
                split_loss, split_acc = evaluate(model, x, y)
                rec.log(split, "loss", split_loss, epoch=epoch + 1)
                rec.log(split, "accuracy", split_acc, epoch=epoch + 1)
            print(f"epoch {epoch + 1}: test accuracy {split_acc:.3f}")

        # the dropout and BatchNorm lessons on this model, stored with the run
        subnets = reglab.sample_subnetworks(model, x_test, y_test, n=30)
        mc = reglab.mc_average(model, x_test, y_test, ks=(1, 5, 20), repeats=2)
        bn = reglab.bn_train_vs_eval(model, x_test, y_test, batch_sizes=(8, 64, 512))
        for table, frame in (("subnet_samples", subnets), ("mc_average", mc), ("bn_modes", bn)):
            rec.save_table(table, frame)

    sampled = subnets[subnets["network"] == "sub-network"]["accuracy"]
    print(f"30 sub-networks: accuracy {sampled.mean():.3f} +- {sampled.std():.3f}; "
          f"eval mode {subnets[subnets['network'] == 'eval mode']['accuracy'].item():.3f}")
    print(mc[mc["network"] == "MC average"].groupby("k")["accuracy"].mean().round(3).to_string())
    print(bn.to_string(index=False))
    print(f"run {rec.run_id} in {rec.folder}: `make app`, then the Runs page ('My runs')")


if __name__ == "__main__":
    main()
