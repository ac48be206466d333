"""Alembic migrations of the AlphaPulse store (revisions written by hand)."""
