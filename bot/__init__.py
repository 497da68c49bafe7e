"""The Mutuals Support Programme hotline: everything that runs beside Rasa."""
