"""What every subcommand shares: the settings read once from the environment, the logging."""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError

from friction.settings import Settings


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
    if not verbose:  # the Twilio SDK logs every request and response at INFO
        logging.getLogger("twilio").setLevel(logging.WARNING)
