"""Pages whose sections are tabs bound to a URL parameter (ui.url_state.sections) run only
the open section; a test that wants every section opens each in turn, as a link would."""
from __future__ import annotations

from typing import Iterator

# sections that hold sections of their own: page -> {section label: the nested tabs' key}
NESTED = {"views/bias_variance.py": {"Neural networks": "nn_section"}}


def each_section(at, key: str = "section", nested: dict[str, str] | None = None) -> Iterator[tuple[str, object]]:
    """(label, the AppTest rerun with that section open) for every section, nested ones
    (`nested`: section label -> its tabs' key) included; a page without sections once."""
    if not at.tabs:
        at.run()
    labels = [tab.label for tab in at.tabs]   # the first section opens by default: no nested tabs yet
    if not labels:
        yield "", at
    for label in labels:
        at.query_params[key] = label
        at.run()
        inner_key = (nested or {}).get(label)
        if inner_key is None:
            yield label, at
            continue
        inner = [tab.label for tab in at.tabs][len(labels):]
        for inner_label in inner:
            at.query_params[inner_key] = inner_label
            at.run()
            yield f"{label} / {inner_label}", at
