"""Benchmark scripts for the hotline assistant.

- ``python -m benchmarks.nlu_compare``: our NLU pipeline against Rasa's default,
  trained on ``data/nlu`` and scored on ``tests/heldout`` (never trained on).
- ``python -m benchmarks.stack_latency``: latency, throughput and memory of the
  running stack over the REST channel, beside a stock ``rasa init`` bot.

Reports go to ``reports/`` (JSON); ``docs/benchmarks.md`` explains the figures.
"""
