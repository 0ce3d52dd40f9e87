"""Jurisdiction policies shipped with PARS."""
