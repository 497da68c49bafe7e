"""Our own NLU pipeline components (Rasa loads them by name from ``config.yml``)."""
