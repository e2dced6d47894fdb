"""``povlab bundle`` / ``verify`` / ``import``: one checksummed zip per session."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.core.errors import BundleError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bundle", help="pack a session folder into one zip with a checksummed manifest")
    p.add_argument("session_dir", type=Path, metavar="SESSION_DIR")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.zip", help="bundle to write (never overwritten)")
    p.set_defaults(func=run_bundle)
    v = sub.add_parser("verify", help="check every byte of a session bundle")
    v.add_argument("bundle", type=Path, metavar="FILE.zip")
    v.set_defaults(func=run_verify)
    i = sub.add_parser("import", help="unpack a verified bundle into a data folder")
    i.add_argument("bundle", type=Path, metavar="FILE.zip")
    i.add_argument("--into", type=Path, required=True, metavar="DIR", help="data folder that receives sub-<p>/ses-<s>")
    i.add_argument("--max-bytes", type=int, default=None, metavar="N",
                   help="refuse a bundle whose files add up to more than N bytes uncompressed (default 64 GiB)")
    i.add_argument("--max-files", type=int, default=None, metavar="N",
                   help="refuse a bundle of more than N files (default 10000)")
    i.set_defaults(func=run_import)


def run_bundle(args: argparse.Namespace) -> int:
    from app.runfolder.bundle import bundle_session

    r = bundle_session(args.session_dir, args.out)
    print(f"bundled {r.files} files ({r.bytes / 1e6:.1f} MB) into {r.path}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from app.runfolder.bundle import verify_bundle

    r = verify_bundle(args.bundle)
    if not r.ok:
        for line in r.problems[1:]:
            print(f"problem: {line}")
        more = f" ({len(r.problems)} problems)" if len(r.problems) > 1 else ""
        raise BundleError(f"{args.bundle}: {r.problems[0]}{more}")
    print(f"ok: {r.files} files match the manifest and the whole-file sha256 ({args.bundle})")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from app.runfolder.bundle import import_bundle
    from app.runfolder.bundle_manifest import MAX_BYTES, MAX_FILES

    limits = {"max_bytes": MAX_BYTES if args.max_bytes is None else args.max_bytes,
              "max_files": MAX_FILES if args.max_files is None else args.max_files}
    target = import_bundle(args.bundle, args.into, **limits)
    print(f"imported into {target}")
    return 0
