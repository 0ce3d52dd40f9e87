"""PARS: the Preliminary Arraignment Reporting System."""

__version__ = "0.1.0"
