"""Templates translated at compile time render what Jinja's runtime gettext renders."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from jinja2 import DictLoader, Environment, select_autoescape

from web.render.i18n import TEMPLATE_DIR, I18n
from web.render.template_translations import TranslatingEnvironment

CATALOG = {
    "Queue": "Cola",
    "Page %(page)s of %(pages)s": "Página %(page)s de %(pages)s",
    "Hello %(name)s": "Hola, <b>%(name)s</b>",
    "Half": "50 %% listo",
    "Broken": "roto al 100 %",
}


def translations() -> Translations:
    """CATALOG compiled as the app compiles its `.po` files (`web.render.i18n.compile_catalog`)."""
    catalog = Catalog(locale="es_MX")
    for msgid, text in CATALOG.items():
        catalog.add(msgid, text)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


SOURCES = {
    "literal.html": '<h1>{{ _("Queue") }}</h1><p>{{ _("Untranslated <i>") }}</p>',
    "kwargs.html": '{{ _("Page %(page)s of %(pages)s", page=page, pages=2) }}',
    "escaped.html": '{{ _("Hello %(name)s", name=name) }}',
    "percent.html": '{{ _("Half") }}',
    "set.html": '{% set label = _("Queue") %}{{ label }}|{{ label|length }}',
    "trans.html": (
        "{% trans %}Queue{% endtrans %} {% trans name=name %}Hello {{ name }}{% endtrans %}"
    ),
    "variable.html": "{{ _(message) }}",
    "nested.html": '{{ _("Hello %(name)s", name=_("Queue")) }}',
    "plain.txt": '{{ _("Hello %(name)s", name=name) }} {{ _("Queue") }}',
    "off.html": '{% autoescape false %}{{ _("Hello %(name)s", name=name) }}{% endautoescape %}',
}
CONTEXT: dict[str, Any] = {"page": 1, "name": "<script>x</script>", "message": "Queue"}


def environments(loader: Any) -> tuple[Environment, Environment]:
    options: dict[str, Any] = {
        "loader": loader,
        "autoescape": select_autoescape(["html"]),
        "extensions": ["jinja2.ext.i18n"],
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    catalog = translations()
    runtime = Environment(**options)
    compiled = TranslatingEnvironment(catalog.gettext, **options)
    for env in (runtime, compiled):
        env.policies["ext.i18n.trimmed"] = True
        env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    return runtime, compiled


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_compile_time_translation_renders_as_the_runtime_call_does(name: str) -> None:
    runtime, compiled = environments(DictLoader(SOURCES))
    expected = runtime.get_template(name).render(CONTEXT)
    assert compiled.get_template(name).render(CONTEXT) == expected


def test_literals_are_fixed_in_the_compiled_code_and_values_stay_escaped() -> None:
    _, compiled = environments(DictLoader(SOURCES))
    code = compiled.compile(SOURCES["escaped.html"], raw=True)
    assert "Hola, <b>%(name)s</b>" in code and "context.call" not in code
    out = compiled.get_template("escaped.html").render(CONTEXT)
    assert out == "Hola, <b>&lt;script&gt;x&lt;/script&gt;</b>"


def test_a_message_that_cannot_format_stays_a_runtime_call_with_its_error() -> None:
    runtime, compiled = environments(DictLoader({"broken.html": '{{ _("Broken") }}'}))
    assert "context.call" in compiled.compile('{{ _("Broken") }}', raw=True)
    for env in (runtime, compiled):
        with pytest.raises(ValueError):
            env.get_template("broken.html").render()


def test_every_page_template_compiles_in_each_locale() -> None:
    i18n = I18n()
    names = [p.name for p in TEMPLATE_DIR.glob("*.html")]
    assert names
    for env in i18n.environments.values():
        for name in names:
            env.get_template(name)
