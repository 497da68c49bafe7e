"""Privacy: retention, a person's data found, exported and erased, the notice (issue 13).

The domain side, with no aiohttp: ``tracker`` (Rasa's tracker-store table),
``retention`` (the purge job and its lease), ``subject`` (find, export, erase),
``notice`` (the privacy notice from ``content/privacy/notice.yml``), ``training``
(the masked NLU training-data export) and ``cli`` (``python -m bot privacy``).
"""
