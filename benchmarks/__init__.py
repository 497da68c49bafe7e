"""Benchmark scripts for the hotline assistant.

- ``python -m benchmarks.nlu_compare``: any number of NLU pipelines side by side,
  trained on ``data/nlu`` and scored on the sealed, development and typo sets.
- ``python -m benchmarks.first_answer``: a fresh clone's ``make run`` until the
  assistant answers (install, training, start-up).
- ``python -m benchmarks.stack_latency``: latency, throughput and memory of the
  running stack over the REST channel, beside a stock ``rasa init`` bot.
- ``python -m benchmarks.handoff_latency``: 20 conversations handed over at once.

Reports go to ``reports/`` (JSON); ``docs/benchmarks.md`` explains the figures.
"""
