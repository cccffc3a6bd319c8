from __future__ import annotations

from dataclasses import dataclass

from runspec import RunSpec, build_spec


class PresetError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Preset:
    name: str
    description: str  # one line: what it reproduces and where from
    spec_tree: dict  # overrides on the RunSpec defaults

    @property
    def spec(self) -> RunSpec:
        return build_spec({"name": self.name, **self.spec_tree})


def collect(*presets: Preset) -> dict[str, Preset]:
    return {p.name: p for p in presets}


@dataclass(frozen=True)
class Sweep:
    """A named grid over spec fields: every combination of `grid` values applied to `base`.

    The runs of a sweep are found again by hashing its specs (spec hash = run id), so a
    page can ask for "the runs of sweep X" without any index file.
    """

    name: str
    description: str
    base: dict  # spec tree, like Preset.spec_tree
    grid: dict[str, tuple]  # dotted key -> values, e.g. {"model.widths": ([8], [64])}

    def points(self) -> list[dict]:
        """Every combination as {dotted key: value}, in grid order."""
        import itertools

        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]

    def specs(self) -> list[tuple[dict, RunSpec]]:
        base = build_spec({"name": self.name, **self.base})
        return [(point, base.with_overrides(point)) for point in self.points()]
