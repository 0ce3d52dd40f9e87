"""Persistence adapters: SQLAlchemy tables, engine set-up, migrations, the unit of work."""
