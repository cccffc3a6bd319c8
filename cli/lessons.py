"""Lesson commands of `python -m training`: precompute, check-demo, predictions, subnetworks, sparsity."""
from __future__ import annotations

import argparse
import json
import os
import time

import pandas as pd

import lessons
from analysis import dropout as dp
from cache import store
from cli import cluster
from cli.args import cache_dir_of
from postprocess import precompute as demo
from postprocess.predictions import store_predictions
from postprocess.autoencoder import evaluate_autoencoder
from postprocess.subnetworks import evaluate_subnetworks


def precompute_names(args: argparse.Namespace) -> list[str] | None:
    """--only's presets/sweeps plus every run of each --lesson; None (every demo run) without either."""
    if not args.only and not args.lesson:
        return None
    try:
        from_lessons = [name for lesson_id in args.lesson or () for name in lessons.get_lesson(lesson_id).run_names]
    except lessons.LessonError as err:
        raise SystemExit(f"precompute --lesson: {err.args[0]}") from None
    return [*(args.only or ()), *from_lessons]


def cmd_precompute(args: argparse.Namespace) -> int:
    keep = {run.spec.run_id for run in lessons.demo_runs()} if args.prune else None
    names = precompute_names(args)
    if args.backend == "ray":
        return cluster.precompute_on_ray(lessons.demo_runs(names), args, keep)
    summary = demo.precompute(lessons.demo_runs(names), args.cache_dir, keep_ids=keep, workers=args.workers)
    print(json.dumps(summary, indent=1))
    return 0


def cmd_check_demo(args: argparse.Namespace) -> int:
    problems = demo.check_demo(lessons.demo_runs(), args.cache_dir)
    for line in problems:
        print(line)
    print("demo cache is complete" if not problems else f"{len(problems)} demo runs to rebuild")
    return 1 if problems else 0


def cmd_predictions(args) -> int:
    """Decompose the named runs, or every finished run of the named sweeps/presets."""
    cache_dir = cache_dir_of(args)
    folders = [store.find_run([cache_dir, store.DEMO_DIR], r) for r in args.run_ids]
    for folder in store.iter_run_folders(cache_dir) if args.name else []:
        if store.read_spec(folder).name in args.name and store.read_status(folder)["state"] == "finished":
            folders.append(folder)
    if not folders:
        print("no runs given or found (pass run ids, or --name SWEEP)")
        return 2
    for folder in folders:
        result = store_predictions(folder, keep_file=args.keep)
        shown = {e: {q: round(v, 4) for q, v in d.items()} for e, d in result.items() if e != "scores"}
        spec = store.read_spec(folder)
        label = (f"{spec.name} widths={list(spec.model.widths)} degree={spec.data.degree} n_train={spec.data.n_train} "
                 f"label_noise={spec.data.label_noise} noise_std={spec.data.noise_std} wd={spec.optim.weight_decay}")
        scores = {q: round(v, 4) for q, v in result["scores"].items()}
        print(f"{folder.name} {label}\n  scores {scores}\n  {shown}")
    return 0


def _add_predictions(sub) -> None:
    parser = sub.add_parser("predictions", help="store each member's test predictions' bias-variance decomposition")
    parser.add_argument("run_ids", nargs="*", help="run ids (or use --name)")
    parser.add_argument("--name", nargs="+", metavar="SWEEP", help="every finished run with this spec name")
    parser.add_argument("--keep", action="store_true", help="also write predictions.npz (float16)")
    parser.set_defaults(func=cmd_predictions)


def cmd_subnetworks(args: argparse.Namespace) -> int:
    folder = store.find_run([cache_dir_of(args), store.DEMO_DIR], args.run_id)
    started = time.time()
    tables = evaluate_subnetworks(folder, n_samples=args.samples, repeats=args.repeats, seed=args.seed,
                                  n_test=args.n_test)
    reference = tables["subnet_reference"][0]["accuracy"]
    print(f"{args.run_id}: sub-network tables written in {time.time() - started:.1f}s")
    print(f"  weight-scaled test accuracy {reference:.4f}")
    samples = [r["accuracy"] for r in tables["subnet_samples"]]
    print(f"  {len(samples)} sampled sub-networks: mean {sum(samples) / len(samples):.4f}, "
          f"min {min(samples):.4f}, max {max(samples):.4f}")
    curve = pd.DataFrame(tables["mc_average"])
    print(f"  MC average within one std of weight scaling from k = {dp.mc_within_one_std(curve, reference)}")
    print("  " + "  ".join(f"k={k}: {a:.4f}" for k, a in curve.groupby("k")["accuracy"].mean().items()))
    removal = pd.DataFrame(tables["unit_removal"]).groupby("fraction")["accuracy"].mean()
    print("  units removed: " + "  ".join(f"{f:.0%}: {a:.4f}" for f, a in removal.items()))
    for row in tables["sparsity"]:
        print(f"  {row['layer']}: mean activation {row['mean_activation']:.3f}, zeros {row['frac_zero']:.1%}")
    return 0


def _add_subnetworks(sub) -> None:
    parser = sub.add_parser("subnetworks", help="score a run's dropout sub-networks and store the tables")
    parser.add_argument("run_id")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-test", type=int, help="score on the first N test examples only (default: all)")
    parser.set_defaults(func=cmd_subnetworks)


def cmd_sparsity(args: argparse.Namespace) -> int:
    folder = store.find_run([cache_dir_of(args), store.DEMO_DIR], args.run_id)
    row = evaluate_autoencoder(folder)["ae_sparsity"][0]
    print(f"{args.run_id}: mean activation {row['mean_activation']:.3f} (median unit {row['median_unit_mean']:.3f}), "
          f"zeros {row['frac_zero']:.1%}, dead units {row['frac_dead_units']:.1%}, "
          f"reconstruction MSE {row['reconstruction_mse']:.4f} on {row['images']} test images")
    return 0


def cmd_postprocess(args: argparse.Namespace) -> int:
    from cli.jobs import postprocess_finished

    folder = store.find_run([cache_dir_of(args)], args.run_id)
    if args.again:
        store.write_status(folder, postprocessed=False)
    postprocess_finished(folder)
    status = store.read_status(folder)
    print(f"{args.run_id}: " + ("post-processed" if status.get("postprocessed") else
                                f"not post-processed ({status.get('postprocess_error') or status['state']})"))
    return 0 if status.get("postprocessed") or status["state"] != "finished" else 1


def register(sub) -> None:
    """precompute, check-demo, postprocess, predictions, subnetworks, sparsity."""
    post = sub.add_parser("postprocess", help="give a finished run what its lesson needs (jobs do this as they end)")
    post.add_argument("run_id")
    post.add_argument("--again", action="store_true", help="redo it on a run that was post-processed before")
    post.set_defaults(func=cmd_postprocess)
    pre = sub.add_parser("precompute", help="build the demo cache (cache/demo) from every preset and sweep")
    pre.add_argument("--only", nargs="+", metavar="NAME", help="only these presets/sweeps")
    pre.add_argument("--lesson", nargs="+", metavar="ID", help="only these lessons' runs (e.g. double-descent; a wrong id lists them all)")
    pre.add_argument("--prune", action="store_true", help="delete demo runs no preset or sweep asks for")
    pre.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="runs trained side by side, one torch thread each (default: the number of cores)")
    cluster.add_backend_arguments(pre, "--workers processes on this machine")
    pre.set_defaults(func=cmd_precompute)
    check = sub.add_parser("check-demo", help="say what in the demo cache is missing or stale")
    check.set_defaults(func=cmd_check_demo)
    _add_predictions(sub)
    _add_subnetworks(sub)
    sparse = sub.add_parser("sparsity", help="store an autoencoder run's hidden-activation sparsity and learned features")
    sparse.add_argument("run_id")
    sparse.set_defaults(func=cmd_sparsity)
