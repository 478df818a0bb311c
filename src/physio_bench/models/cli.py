"""CLI subcommands of the models stage: ``embed``, ``merge-embeddings``, ``models``,
``convert-tirex`` (TiRex's published pickle ``model.ckpt`` -> ``config.json`` +
``model.safetensors``, run once by the user; see :mod:`physio_bench.models.tirex`) and
``convert-papagei`` (PaPaGei-S's ``papagei_s.pt``; :mod:`physio_bench.models.papagei`).

As run by ``workflow/rules/embed.smk``::

    physio-bench embed --configfile C --model raw --suite-dir results/simulated/factors \\
        --shard 0003 --out results/embeddings/raw/factors/shards/0003.npz
    physio-bench merge-embeddings --configfile C --model raw \\
        --out-dir results/embeddings/raw/factors SHARD.npz...
    physio-bench models
    physio-bench convert-tirex NX-AI/TiRex ~/weights/tirex   # then weights: ~/weights/tirex
"""

from __future__ import annotations

import argparse

from physio_bench.cli import config_from_args, stage_command


def _embed(args: argparse.Namespace) -> int:
    from physio_bench.models.embed import embed_shard

    config = config_from_args(args)
    sidecar = embed_shard(config, args.model, args.suite_dir, args.shard, args.out)
    print(f"{args.model} {sidecar['suite']} shard {args.shard}: {sidecar['n_windows']} windows "
          f"in {sidecar['embed_s']:.2f} s ({sidecar['windows_per_second']:.1f} windows/s)")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from physio_bench.models.embed import merge_embeddings

    config = config_from_args(args)
    info = merge_embeddings(config, args.model, args.shards, args.out_dir)
    print(f"{args.model} {info['suite']}: {info['n_windows']} windows, {len(info['layer_names'])}"
          f" layers x {info['dim']} dims -> {args.out_dir}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from physio_bench.models.registry import ENTRY_POINT_GROUP, available_plugins, distribution_of

    plugins = available_plugins()
    print(f"{len(plugins)} plug-ins in the entry-point group {ENTRY_POINT_GROUP}:")
    for name, entry_point in plugins.items():
        dist, dist_version = distribution_of(entry_point)
        print(f"  {name:<14} {entry_point.value}  ({dist} {dist_version})")
    return 0


def _convert_tirex(args: argparse.Namespace) -> int:
    from physio_bench.models.tirex import convert_checkpoint

    record = convert_checkpoint(args.source, args.out_dir)
    files = ", ".join(record["files"])
    print(f"converted {record['source']} ({record['source_file']} sha256 "
          f"{record['source_sha256']}) -> {args.out_dir}: {files}, conversion.json; "
          f"set weights: {args.out_dir}")
    return 0


def _convert_papagei(args: argparse.Namespace) -> int:
    from physio_bench.models.papagei import convert_checkpoint

    record = convert_checkpoint(args.source, args.out_dir)
    print(f"converted {record['source']} (sha256 {record['source_sha256']}) -> "
          f"{args.out_dir}: {', '.join(record['files'])}, conversion.json; set weights: "
          f"{args.out_dir}")
    return 0


def _shard_index(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"shard must be a number like 0003, got {text!r}")
    return int(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the physio-bench parser."""
    embed = stage_command(subparsers, _embed, "embed",
                          help="embed one shard of a suite with one model")
    embed.add_argument("--model", required=True, help="model name (a key of models:)")
    embed.add_argument("--suite-dir", required=True, help="suite directory (signals.npy, ...)")
    embed.add_argument("--shard", required=True, type=_shard_index,
                       help="shard index: windows [i*shard_size, (i+1)*shard_size)")
    embed.add_argument("--out", required=True,
                       help="output .npz (a .json sidecar is written next to it)")

    merge = stage_command(subparsers, _merge, "merge-embeddings",
                                  help="join a model's shards of one suite")
    merge.add_argument("--model", required=True, help="model name (a key of models:)")
    merge.add_argument("--out-dir", required=True, help="embedding directory to write")
    merge.add_argument("shards", nargs="+", metavar="SHARD.npz", help="shards of embed")

    models = subparsers.add_parser("models", help="list the installed model plug-ins")
    models.set_defaults(func=_models)

    convert = subparsers.add_parser(
        "convert-tirex",
        help="convert TiRex's published model.ckpt (pickle) to config.json + "
             "model.safetensors, the only format the benchmark loads")
    convert.add_argument("source", metavar="CKPT_OR_DIR",
                         help="model.ckpt, a directory holding it, or a hub id whose "
                              "model.ckpt is in the Hugging Face cache (e.g. NX-AI/TiRex)")
    convert.add_argument("out_dir", metavar="OUT_DIR",
                         help="directory to write (existing outputs are never overwritten)")
    convert.set_defaults(func=_convert_tirex)

    papagei = subparsers.add_parser(
        "convert-papagei",
        help="convert PaPaGei-S's published papagei_s.pt (pickle, Zenodo 13983110) to "
             "config.json + model.safetensors, the only format the benchmark loads")
    papagei.add_argument("source", metavar="PT_FILE", help="the downloaded papagei_s.pt")
    papagei.add_argument("out_dir", metavar="OUT_DIR",
                         help="directory to write (existing outputs are never overwritten)")
    papagei.set_defaults(func=_convert_papagei)
