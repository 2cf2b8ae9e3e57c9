"""``ik-engine view``: start the viewer from the command line and serve until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--body", default="smplx",
                        help="'smplx' (the shipped skeleton and CC0 mesh), an SMPL-X model file (.npz/.pkl; "
                             "the smplx extra) or a .bvh skeleton")
    parser.add_argument("--betas", type=float, nargs="+", help="body shape coefficients for an SMPL-X model file")
    parser.add_argument("--clip", help="a clip to play: .bvh, or .npz (ik-engine track --npz, or Motion.save_npz)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free port)")
    parser.add_argument("--no-skeleton", action="store_true", help="hide the stick skeleton over the mesh")


def run(args: argparse.Namespace) -> int:
    """Start the viewer; print its URL; serve until interrupted. 2 on bad input."""
    try:
        import viser  # noqa: F401  (the viewer extra)
    except ImportError:
        print('ik-engine view: the viewer needs viser, which is not installed: pip install "viser>=1.1" '
              '(ik-engine\'s extra \'viewer\')', file=sys.stderr)
        return 2
    import numpy as np

    from ik_engine.errors import IKError
    from ik_engine.viewer.app import ViewerPortError, view

    try:
        betas = None if args.betas is None else np.array(args.betas, dtype=float)
        viewer = view(args.body, betas=betas, host=args.host, port=args.port, show_skeleton=not args.no_skeleton)
    except (IKError, ViewerPortError, ImportError) as exc:
        print(f"ik-engine view: {exc}", file=sys.stderr)
        return 2
    if args.clip:
        message = viewer.open(args.clip)  # a bad clip is reported here and in the page; the body stays
        failed = message.startswith("**Error:**")
        print(f"ik-engine view: {message.replace('**Error:** ', 'error: ')}", file=sys.stderr if failed else sys.stdout)
    print(f"ik-engine viewer at {viewer.url} (Ctrl-C stops it)", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        viewer.stop()
    print("ik-engine viewer stopped", flush=True)
    return 0
