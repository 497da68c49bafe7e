"""The NLU benchmark's model cache key (benchmarks/nlu_compare.py)."""

from __future__ import annotations

from benchmarks.nlu_compare import BASELINE_CONFIG, OUR_CONFIG, our_component_files


def test_a_config_is_keyed_on_the_code_of_our_components_it_uses() -> None:
    ours = {p.name for p in our_component_files(OUR_CONFIG.read_text(encoding="utf-8"))}
    # named in config.yml, and imported by those (storage, scope, segments)
    assert {"spelling.py", "linear.py", "crf.py", "fuzzy.py", "scope.py", "storage.py"} <= ours
    assert "segments.py" in ours
    diet = {p.name for p in our_component_files(BASELINE_CONFIG.read_text(encoding="utf-8"))}
    # the DIET baseline uses only the several-questions component (and what it imports):
    # editing the spelling reader must not cost it a 20-minute retraining
    assert diet == {"several.py", "segments.py", "settings.py"}


def test_names_that_are_not_our_modules_add_nothing() -> None:
    assert our_component_files("pipeline:\n- name: bot.nlu.nonexistent\n- name: DIET") == []
