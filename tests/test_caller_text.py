"""What callers read lives in domain.yml's responses or a content file, never in Python.

An AST check of the action server (``actions/``) and the handoff (``bot/handoff/``):
no message text written in code, every response an action sends exists, and every
``{variable}`` in a response or a content message is filled by the code that sends it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.content import (
    AWARD_REPLIES_PATH,
    HANDOFF_MESSAGES_PATH,
    messages,
    programme_questions,
    template_variables,
)
from tests.trackers import ROOT, load_domain

CODE = sorted([*(ROOT / "actions").glob("*.py"), *(ROOT / "bot" / "handoff").glob("*.py")])
DOMAIN = load_domain()
SLOTS = frozenset(DOMAIN["slots"])
PROGRAMME_ANSWERS = [q.response for q in programme_questions()]
#: The functions that put a content file's message into words, and what they fill themselves.
RENDERERS = {
    "say": (AWARD_REPLIES_PATH, frozenset({"hotline_number", "caveat"})),
    "render": (HANDOFF_MESSAGES_PATH, frozenset({"hotline_number"})),
}


def modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in CODE:
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def is_written_text(node: ast.expr) -> bool:
    """Whether ``node`` is text written in the code: a literal, an f-string, or built of them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(node.value.strip())
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return is_written_text(node.left) or is_written_text(node.right)
    if isinstance(node, ast.IfExp):
        return is_written_text(node.body) or is_written_text(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        # "...".format(...) and "\n".join(["...", ...])
        return node.func.attr == "format" and is_written_text(node.func.value)
    return False


def call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def string_values(node: ast.expr, scope: ast.AST) -> list[str] | None:
    """The constant strings ``node`` can be (None: not known from the code)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = string_values(node.body, scope), string_values(node.orelse, scope)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.Name):
        values: list[str] = []
        for assign in ast.walk(scope):
            if isinstance(assign, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == node.id for t in assign.targets
            ):
                found = string_values(assign.value, scope)
                if found is None:
                    return None
                values += found
        return values or None
    return None


def dict_keys(node: ast.expr, scope: ast.AST) -> set[str] | None:
    """The keys of a dict literal, or of the dict literals a name is assigned."""
    if isinstance(node, ast.Dict):
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        return keys if all(isinstance(k, ast.Constant) for k in node.keys) else None
    if isinstance(node, ast.Name):
        found: set[str] = set()
        for assign in ast.walk(scope):
            if isinstance(assign, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == node.id for t in assign.targets
            ):
                keys = dict_keys(assign.value, scope)
                if keys is None:
                    return None
                found |= keys
        return found or None
    return None


def passed_names(call: ast.Call, scope: ast.AST) -> set[str] | None:
    """The keyword names a call passes (None if a ``**`` cannot be read)."""
    names: set[str] = set()
    for keyword in call.keywords:
        if keyword.arg is not None:
            names.add(keyword.arg)
            continue
        keys = dict_keys(keyword.value, scope)
        if keys is None:
            return None
        names |= keys
    return names


def test_no_caller_text_is_written_in_python() -> None:
    written = []
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and call_name(node) in ("utter_message", "bot_message"):
                args = [k.value for k in node.keywords if k.arg == "text"] + node.args[:1]
                written += [f"{path.name}:{node.lineno}" for a in args if is_written_text(a)]
            if isinstance(node, ast.Dict):  # a bot event written by hand: {"text": "..."}
                written += [
                    f"{path.name}:{node.lineno}"
                    for key, value in zip(node.keys, node.values, strict=True)
                    if isinstance(key, ast.Constant)
                    and key.value == "text"
                    and is_written_text(value)
                ]
    assert written == []


def response_uses() -> Iterator[tuple[str, str, set[str] | None]]:
    """(where, response, variables passed) for each response the code sends."""
    for path, tree in modules():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                where = f"{path.name}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Call) and call_name(node) == "utter_message":
                    response = next((k.value for k in node.keywords if k.arg == "response"), None)
                    if response is None:
                        continue
                    # A name not written in the code is a programme answer (questions.yml).
                    names = string_values(response, tree) or PROGRAMME_ANSWERS
                    passed = passed_names(node, function)
                    for name in names:
                        yield where, name, passed
                if isinstance(node, ast.Dict):  # utter_message(**{"response": ..., ...})
                    keys = dict_keys(node, function) or set()
                    if "response" in keys:
                        value = node.values[
                            [getattr(k, "value", None) for k in node.keys].index("response")
                        ]
                        for name in string_values(value, tree) or []:
                            yield where, name, keys - {"response"}


def test_every_response_an_action_sends_exists_and_has_its_variables() -> None:
    uses = list(response_uses())
    assert len(uses) > 20  # the check sees the actions' responses
    problems = []
    for where, name, passed in uses:
        if name not in DOMAIN["responses"]:
            problems.append(f"{where}: no response {name}")
            continue
        needed = set().union(
            *(template_variables(v.get("text", "")) for v in DOMAIN["responses"][name])
        )
        if passed is None:
            problems.append(f"{where}: {name}'s variables cannot be read")
            continue
        missing = needed - SLOTS - passed
        if missing:
            problems.append(f"{where}: {name} needs {sorted(missing)}")
    assert problems == []


def content_uses() -> Iterator[tuple[str, Path, list[str], set[str] | None]]:
    """(where, file, possible message names, variables passed) per content message sent."""
    for path, tree in modules():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if not (isinstance(node, ast.Call) and call_name(node) in RENDERERS):
                    continue
                if not node.args or function.name in RENDERERS:
                    continue  # the renderers themselves
                file, _ = RENDERERS[str(call_name(node))]
                first = node.args[0]
                names = string_values(first, function) or string_values(first, tree)
                if names is None and isinstance(first, ast.JoinedStr):
                    pattern = "".join(
                        re.escape(p.value) if isinstance(p, ast.Constant) else "[a-z_]+"
                        for p in first.values
                    )
                    names = [n for n in messages(file).texts if re.fullmatch(pattern, n)]
                assert names, f"{path.name}:{node.lineno}: message name not known from the code"
                yield f"{path.name}:{node.lineno}", file, names, passed_names(node, function)


def test_every_content_message_is_used_and_has_its_variables() -> None:
    problems, used = [], set()
    for where, file, names, passed in content_uses():
        _, filled_by_renderer = next(r for r in RENDERERS.values() if r[0] == file)
        used |= {(file, name) for name in filled_by_renderer}
        for name in names:
            used.add((file, name))
            if name not in messages(file).texts:
                problems.append(f"{where}: {file.name} has no {name}")
                continue
            if passed is None:
                problems.append(f"{where}: {name}'s variables cannot be read")
                continue
            missing = messages(file).variables(name) - filled_by_renderer - passed
            if missing:
                problems.append(f"{where}: {name} needs {sorted(missing)}")
    unused = [
        f"{file.name}: {name}"
        for file, _ in RENDERERS.values()
        for name in messages(file).texts
        if (file, name) not in used
    ]
    assert problems == []
    assert unused == []


@pytest.mark.parametrize(
    "text", ["You're {position}", "{a.b}", "{a[0]}", "{a!r}", "{a:>9}", "{", "}"]
)
def test_a_content_template_reaches_no_further_than_plain_names(text: str) -> None:
    if text == "You're {position}":
        assert template_variables(text) == {"position"}
    else:
        with pytest.raises(ValueError):
            template_variables(text)
