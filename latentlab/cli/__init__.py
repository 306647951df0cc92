"""Command line: ``latentlab [FILE ...]`` opens the app; ``train``, ``info``,
``encode``, ``evaluate``, ``seeds`` and ``trick`` run headless. Errors print one
line and exit with status 2.

One module a command: :mod:`.train`, :mod:`.info`, :mod:`.encode`,
:mod:`.evaluate`, and :mod:`.desktop` (the app and its menu entry); the argument
parsers and exit statuses are in :mod:`.parsers`, the checks of the commands'
inputs in :mod:`.checks`. This module holds :func:`main`, the ``latentlab``
console script, and re-exports the commands. Nothing here imports torch: each
command imports it when it runs.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from latentlab.cli.desktop import cmd_install_desktop, run_gui
from latentlab.cli.encode import cmd_encode
from latentlab.cli.evaluate import MAX_EVALUATE_S, cmd_evaluate
from latentlab.cli.info import cmd_info
from latentlab.cli.parsers import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    MAX_COUNT,
    _app_parser,
    _encode_parser,
    _evaluate_parser,
    _info_parser,
    _seeds_parser,
    _train_parser,
    _trick_parser,
)
from latentlab.cli.seeds import cmd_seeds
from latentlab.cli.train import cmd_train
from latentlab.cli.trick import cmd_trick

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "MAX_COUNT",
    "MAX_EVALUATE_S",
    "cmd_encode",
    "cmd_evaluate",
    "cmd_info",
    "cmd_install_desktop",
    "cmd_seeds",
    "cmd_train",
    "cmd_trick",
    "main",
    "run_gui",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``latentlab`` command."""
    args = list(sys.argv[1:] if argv is None else argv)
    from latentlab.core.errors import LatentLabError
    from latentlab.core.text import printable

    try:
        if args[:1] == ["train"]:
            return cmd_train(_train_parser().parse_args(args[1:]))
        if args[:1] == ["info"]:
            return cmd_info(_info_parser().parse_args(args[1:]))
        if args[:1] == ["encode"]:
            return cmd_encode(_encode_parser().parse_args(args[1:]))
        if args[:1] == ["evaluate"]:
            return cmd_evaluate(_evaluate_parser().parse_args(args[1:]))
        if args[:1] == ["seeds"]:
            return cmd_seeds(_seeds_parser().parse_args(args[1:]))
        if args[:1] == ["trick"]:
            return cmd_trick(_trick_parser().parse_args(args[1:]))
        opts = _app_parser().parse_args(args)
        if opts.install_desktop:
            return cmd_install_desktop()
        return run_gui(opts.files, opts.data_dir)
    except LatentLabError as exc:
        # printable: a message quoting a file's contents stays one inert line.
        print(f"latentlab: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("latentlab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader left (``latentlab info x.pt | head``): say nothing more, and
        # keep Python from complaining while it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        # A file the checks could not foresee (a name too long, a disk gone):
        # one line naming it, never a traceback.
        from latentlab.core.text import printable_path

        where = f"{printable_path(exc.filename)}: " if exc.filename else ""
        print(
            f"latentlab: error: {where}{printable(exc.strerror or str(exc))}",
            file=sys.stderr,
        )
        return EXIT_USAGE
