"""What the `pars` command's modules share: the settings read from the environment (unknown
`PARS_` variables refused) and the application built on them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pars.config import Settings, check_environment

if TYPE_CHECKING:
    from pars.services.app import Pars

__all__ = ["load_app", "load_settings"]


def load_settings() -> Settings:
    check_environment()
    return Settings()


def load_app(settings: Settings | None = None, create_keys: bool = False) -> Pars:
    """The application on `settings` (default: the environment's); `create_keys` writes the
    encryption key file if there is none."""
    from pars.crypto import KeyRing
    from pars.services.app import Pars

    settings = settings or load_settings()
    keys = KeyRing.load(settings.encryption_keys, settings.data_dir, create=create_keys)
    return Pars(settings, keys=keys)
