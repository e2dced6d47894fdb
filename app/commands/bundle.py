"""``povlab bundle`` / ``verify`` / ``import``: one checksummed zip per session."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.core.errors import BundleError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bundle", help="pack a session folder into one zip with a checksummed manifest")
    p.add_argument("session_dir", type=Path, metavar="SESSION_DIR")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.zip", help="bundle to write (never overwritten)")
    p.add_argument("--sign", type=Path, default=None, metavar="KEY", help="sign the manifest with this lab key "
                   "(from povlab keygen)")
    p.set_defaults(func=run_bundle)
    v = sub.add_parser("verify", help="check every byte of a session bundle")
    v.add_argument("bundle", type=Path, metavar="FILE.zip")
    v.add_argument("--key", type=Path, default=None, metavar="PUB", help="require a valid signature by this public key")
    v.set_defaults(func=run_verify)
    k = sub.add_parser("keygen", help="make a lab key pair for signing bundles (KEY and KEY.pub)")
    k.add_argument("--out", type=Path, required=True, metavar="KEY", help="private key to write (never overwritten)")
    k.set_defaults(func=run_keygen)
    i = sub.add_parser("import", help="unpack a verified bundle into a data folder")
    i.add_argument("bundle", type=Path, metavar="FILE.zip")
    i.add_argument("--into", type=Path, required=True, metavar="DIR", help="data folder that receives sub-<p>/ses-<s>")
    i.add_argument("--max-bytes", type=int, default=None, metavar="N",
                   help="refuse a bundle whose files add up to more than N bytes uncompressed (default 64 GiB)")
    i.add_argument("--max-files", type=int, default=None, metavar="N",
                   help="refuse a bundle of more than N files (default 10000)")
    i.add_argument("--key", type=Path, default=None, metavar="PUB", help="require a valid signature by this public key")
    i.set_defaults(func=run_import)


def run_bundle(args: argparse.Namespace) -> int:
    from app.runfolder.bundle import bundle_session

    r = bundle_session(args.session_dir, args.out, sign_key=args.sign)
    signed = " (manifest signed)" if args.sign is not None else ""
    print(f"bundled {r.files} files ({r.bytes / 1e6:.1f} MB) into {r.path}{signed}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from app.runfolder.bundle import verify_bundle

    r = verify_bundle(args.bundle, args.key)
    if not r.ok:
        for line in r.problems[1:]:
            print(f"problem: {line}")
        more = f" ({len(r.problems)} problems)" if len(r.problems) > 1 else ""
        raise BundleError(f"{args.bundle}: {r.problems[0]}{more}")
    print(f"ok: {r.files} files match the manifest and the whole-file sha256; {r.signature} ({args.bundle})")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from app.runfolder.bundle import import_bundle
    from app.runfolder.bundle_manifest import MAX_BYTES, MAX_FILES

    limits = {"max_bytes": MAX_BYTES if args.max_bytes is None else args.max_bytes,
              "max_files": MAX_FILES if args.max_files is None else args.max_files}
    target = import_bundle(args.bundle, args.into, public_key=args.key, **limits)
    print(f"imported into {target}")
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    from app.runfolder.bundle_signing import generate_keypair

    private, public = generate_keypair(args.out)
    print(f"private key {private} (keep it on the recording computer; mode 0600), public key {public} "
          "(for povlab verify --key)")
    return 0
