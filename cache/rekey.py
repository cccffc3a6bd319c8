"""Re-key run folders whose name is not their spec's run id (ids computed by an older rule).

Run ids hash the non-default fields of a spec; folders made when the id hashed the whole
spec keep their old names until re-keyed. Re-keying renames each folder to the id its
spec.json gives today; nothing inside a folder names its own id, so a rename is enough.
"""
from __future__ import annotations

import os
from pathlib import Path

from cache.store import StoreError, iter_run_folders, read_spec


def rekey_folders(cache_dir: Path | str) -> tuple[list[tuple[str, str]], list[str]]:
    """Rename every folder to its spec's id; returns (renamed (old, new) pairs, problems)."""
    renamed, problems = [], []
    for folder in iter_run_folders(cache_dir):
        try:
            new_id = read_spec(folder).run_id
        except StoreError as err:
            problems.append(str(err))
            continue
        if new_id == folder.name:
            continue
        target = folder.with_name(new_id)
        if target.exists():
            problems.append(f"{folder}: its id {new_id} is already taken by another folder; left as it is")
            continue
        os.rename(folder, target)   # atomic within one filesystem
        renamed.append((folder.name, new_id))
    return renamed, problems
