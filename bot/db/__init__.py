"""Database layer: models, engine/session factory and Alembic migrations."""
