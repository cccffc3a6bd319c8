"""The ground layer: run specs (pydantic), their canonical JSON and stable run ids.

Importable without torch or any dataset loader; every other layer builds on it.
"""
from runspec.datasets import DATASET_DESCRIPTIONS, DATASET_NAMES
from runspec.spec import (CUSTOM, SPEC_VERSION, RUN_ID_PATTERN, Activation, DataSpec, Loss, ModelSpec, OptimSpec,
                          ProbeSpec, RunSpec, SpecError, build_spec, changed_fields, check_run_id,
                          format_validation_error, load_spec_json, non_default_tree, run_id_of)

__all__ = ["CUSTOM", "SPEC_VERSION", "RUN_ID_PATTERN", "Activation", "DataSpec", "Loss", "ModelSpec", "OptimSpec",
           "ProbeSpec", "RunSpec", "SpecError", "build_spec", "changed_fields", "check_run_id", "format_validation_error",
           "load_spec_json", "non_default_tree", "run_id_of", "DATASET_DESCRIPTIONS", "DATASET_NAMES"]
