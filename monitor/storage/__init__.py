"""Storage: the SQLAlchemy models, the database handle and the repositories.

This package is the only place that imports SQLAlchemy.
"""
