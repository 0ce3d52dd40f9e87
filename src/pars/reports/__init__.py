"""Documents and statistics drawn from the records: the criminal complaint, reports.

Modules here are pure: they take plain data and return bytes or data, and import neither the
store nor the web layer."""
