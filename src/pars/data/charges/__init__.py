"""Charge catalogues, one CSV per jurisdiction (pa.csv: Pennsylvania)."""
