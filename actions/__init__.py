"""Rasa custom actions for the Mutuals Support Programme hotline.

One module per domain: ``programme`` (questions about the programme and the
fallback), ``forms`` (the eligibility check), ``awards`` (the awards register)
and ``handoff`` (people). Plain helpers live in ``eligibility`` and ``parsing``.
"""
