"""Templates translated when they are compiled: each locale's environment writes its own
language's text into the compiled template in place of `_("…")` calls with a literal message.

Jinja's newstyle gettext runs on every call (a context call, the catalog lookup, `Markup`, a
`%` format), and a casebook page makes dozens of them, the same every time. The catalogs are
fixed once the app is built (`web.render.i18n`), and each locale has an environment (and so a
template cache) of its own, so the text can be fixed when the template is compiled. The result
is the same as the runtime call's: the translation is marked safe where autoescaping is on, and
it is always a `%` format (with the call's keyword arguments, escaped, or with none). A call
the compiler cannot settle (a message held in a variable, positional extras, a format that
would fail) stays a runtime call, with the runtime's behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Environment, nodes
from jinja2.visitor import NodeTransformer

# The names the i18n extension calls for a singular message: `_()` in expressions, `gettext()`
# inside `{% trans %}` blocks.
GETTEXT_NAMES = frozenset({"_", "gettext"})


class TranslatingEnvironment(Environment):
    """An `Environment` whose templates come out of the compiler already translated by
    `translate` (the locale's `gettext`)."""

    def __init__(self, translate: Callable[[str], str], **options: Any) -> None:
        super().__init__(**options)
        self.translate = translate

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        template = super()._parse(source, name, filename)
        translated = _TranslateLiterals(self.translate).visit(template)
        assert isinstance(translated, nodes.Template)
        return translated


class _TranslateLiterals(NodeTransformer):
    def __init__(self, translate: Callable[[str], str]) -> None:
        self.translate = translate

    def visit_Call(self, node: nodes.Call) -> nodes.Node:
        visited = self.generic_visit(node)  # a call among the keyword arguments, too
        assert isinstance(visited, nodes.Call)
        message = _literal_message(visited)
        if message is None:
            return visited
        text = self.translate(message)
        if not visited.kwargs:
            try:
                text = text % {}
            except (KeyError, TypeError, ValueError):
                return visited  # the runtime call raises the same error
            return nodes.MarkSafeIfAutoescape(nodes.Const(text), lineno=visited.lineno)
        variables = nodes.Dict(
            [nodes.Pair(nodes.Const(k.key), k.value, lineno=k.lineno) for k in visited.kwargs],
            lineno=visited.lineno,
        )
        safe = nodes.MarkSafeIfAutoescape(nodes.Const(text), lineno=visited.lineno)
        return nodes.Mod(safe, variables, lineno=visited.lineno)


def _literal_message(call: nodes.Call) -> str | None:
    """The message of a `_("literal", name=value…)` call, or None for any other call."""
    if not (isinstance(call.node, nodes.Name) and call.node.name in GETTEXT_NAMES):
        return None
    if len(call.args) != 1 or call.dyn_args is not None or call.dyn_kwargs is not None:
        return None
    first = call.args[0]
    return first.value if isinstance(first, nodes.Const) and isinstance(first.value, str) else None
