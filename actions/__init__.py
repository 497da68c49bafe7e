"""Rasa custom actions for the Mutuals Support Programme hotline.

One module per domain: ``programme`` (questions about the programme and the
fallback), ``forms`` (the eligibility check), ``awards`` (the awards register)
and ``handoff`` (people). Plain helpers live in ``eligibility`` and ``parsing``.
``privacy`` runs after every caller message (sensitive numbers, the call's notice).

Importing the package masks personal data in the action server's logs (issue 13).
"""

from bot.core import logmask

logmask.install()
