"""``python -m monitor`` runs the ``social-monitor`` command line."""

from monitor.cli import main

main()
