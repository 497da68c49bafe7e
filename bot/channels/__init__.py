"""Custom Rasa input channels for the hotline: signed webhooks, numbered choices, the phone line.

Each module subclasses Rasa 3.6's built-in channel for one service and adds what
the built-in one lacks (request verification, a configurable API host, numbered
choices, a working push channel for handoff). `credentials.py` writes the
effective credentials file with only the configured channels. See
docs/channels.md.
"""
