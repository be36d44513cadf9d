"""Storage: the SQLAlchemy models, the database handle and the repositories.

Connectors, the policy and the domain types never import it (``tests/test_architecture.py``).
"""
