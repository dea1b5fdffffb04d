"""Storage: SQLAlchemy models, the database session, and Alembic migrations."""
