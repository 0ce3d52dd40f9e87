"""Data files shipped with PARS."""
