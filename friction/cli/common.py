"""What every subcommand shares: the settings read once from the environment, the logging,
and the ``--help`` layout."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from friction.settings import Settings

if TYPE_CHECKING:
    from friction.api.server import ListenRefused


def load_settings() -> Settings:
    """Settings from the environment, or a readable exit naming the bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            if not problem["loc"]:  # a rule over several variables names them itself
                print(f"error: {problem['msg'].removeprefix('Value error, ')}", file=sys.stderr)
                continue
            name = "FRICTION_" + "_".join(str(p) for p in problem["loc"]).upper()
            print(f"error: {name}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def configure_logging(verbose: bool) -> None:
    """Log lines with time, level and logger; DEBUG with ``-v`` (each worker process too)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # libraries' chatter at INFO: every Twilio request, matplotlib's units
        for name in ("twilio", "matplotlib"):
            logging.getLogger(name).setLevel(logging.WARNING)


def listen_hint(error: ListenRefused) -> str:
    """The one line ``friction serve`` (and each worker) ends with when it cannot listen."""
    if error.in_use:
        other = error.port + 1
        return (f"{error} (another friction serve?): stop it, or choose another port with "
                f"FRICTION_HTTP_PORT={other} or --port {other}")  # fmt: skip
    return f"{error}: check FRICTION_HTTP_HOST and FRICTION_HTTP_PORT (or --port)"


def positive(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1 (days, customers, rounds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every ``--help``: each option's default shown, so nobody reads the source to find it
    (not for flags, empty values, or help that states its default itself); descriptions
    and epilogs wrapped to the terminal, with their indented lines (examples, commands,
    variables) kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default == []:
            return text
        return super()._get_help_string(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines: list[str] = []
        prose: list[str] = []
        for line in [*text.strip("\n").splitlines(), ""]:
            if line and not line[0].isspace():
                prose.append(line)
                continue
            if prose:  # a paragraph ends: re-wrap it
                lines.append(super()._fill_text(" ".join(prose), width, indent))
                prose.clear()
            lines.append(indent + line if line else "")
        return "\n".join(lines[:-1])


class Parser(argparse.ArgumentParser):
    """The ``friction`` parser; its subcommands' parsers are of this class too (argparse
    builds them with the parent's class), so all of them share ``HelpFormatter``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
