"""Translations: gettext catalogs compiled in memory at startup, one Jinja2 environment per locale.

Catalogs live in `web/locale/<locale>/LC_MESSAGES/<domain>.po` for the locales `es_MX` and `en`:
domain `messages` holds the server's strings (templates and Python), domain `client` the browser
client's (its page gets them as a dict). Msgids are English. No `.mo` is committed or built: the
`.po` files are read and compiled in memory when the app starts.

Refreshing the `messages` catalogs after changing strings (from the repository root; the
mapping `web/babel.cfg` covers web/**.py and every template, room.html included):

    .venv/bin/pybabel extract -F web/babel.cfg -k _ -o var/messages.pot .
    .venv/bin/pybabel update -i var/messages.pot -d web/locale -D messages -l es_MX
    .venv/bin/pybabel update -i var/messages.pot -d web/locale -D messages -l en

then translate the new entries in the `.po` files (es-MX must read naturally, with its accents;
the `en` catalog repeats the msgid). `tests/web/render/test_i18n.py` fails on untranslated entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.render.template_translations import TranslatingEnvironment

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
LOCALES = ("es_MX", "en")
DEFAULT_LOCALE = "es_MX"

# The `lang` attribute of <html> for each locale (BCP 47).
HTML_LANG = {"es_MX": "es-MX", "en": "en"}
# What people write in the network (case text, room and session titles) is Spanish: a page in
# another language marks it, so a screen reader reads it with Spanish rules (WCAG 3.1.2).
CONTENT_LANG = "es"


def content_lang_attribute(locale: str) -> str:
    """` lang="es"` for an element holding what people wrote, on a page not in Spanish; ""."""
    return "" if HTML_LANG[locale].startswith(CONTENT_LANG) else f' lang="{CONTENT_LANG}"'


def compile_catalog(path: Path, locale: str, domain: str) -> NullTranslations:
    """The translations of one `.po` file, compiled in memory; empty when the file is missing."""
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale, domain=domain)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)


def catalog_dict(path: Path, locale: str) -> dict[str, str]:
    """Every translated message of a `.po` file as msgid → text (msgid itself when untranslated)."""
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    entries: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        if isinstance(message.string, str):
            text = message.string
        else:
            text = message.string[0] if message.string else ""
        entries[msgid] = text or msgid
    return entries


def negotiate(accept_language: str | None, supported: Iterable[str] = LOCALES) -> str | None:
    """The supported locale the browser's Accept-Language prefers most, or None."""
    if not accept_language:
        return None
    by_language = {locale.split("_")[0].lower(): locale for locale in supported}
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().replace("_", "-").split("-")[0].lower()
        if language in by_language and quality > 0:
            ranked.append((-quality, position, by_language[language]))
    return min(ranked)[2] if ranked else None


def normalize_locale(value: str | None) -> str | None:
    """`value` as one of LOCALES ("es-MX", "es", "en-US"… accepted), or None."""
    if not value:
        return None
    return negotiate(value)


class I18n:
    """Per-locale catalogs and template environments, loaded once when the app is built."""

    def __init__(
        self,
        *,
        locale_dir: Path = LOCALE_DIR,
        template_dir: Path = TEMPLATE_DIR,
        default_locale: str = DEFAULT_LOCALE,
    ) -> None:
        self.default_locale = default_locale
        self.translations: dict[str, NullTranslations] = {}
        self.client: dict[str, dict[str, str]] = {}
        self.environments: dict[str, Environment] = {}
        loader = FileSystemLoader(template_dir)
        for locale in LOCALES:
            folder = locale_dir / locale / "LC_MESSAGES"
            translations = compile_catalog(folder / "messages.po", locale, "messages")
            self.translations[locale] = translations
            self.client[locale] = catalog_dict(folder / "client.po", locale)
            env = TranslatingEnvironment(
                translations.gettext,
                loader=loader,
                autoescape=select_autoescape(["html", "xml"]),
                extensions=["jinja2.ext.i18n"],
                # Pages render synchronously from prepared contexts (no awaits in templates):
                # the async mode costs a coroutine hop per output chunk, most of a big page's
                # time. Templates are read once; a deploy restarts the process.
                auto_reload=False,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.policies["ext.i18n.trimmed"] = True
            env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
            self.environments[locale] = env

    def gettext(self, locale: str, message: str) -> str:
        """`message` translated into `locale`."""
        return self.translations[locale].gettext(message)

    def choose(
        self, *, cookie: str | None, user_locale: str | None, accept_language: str | None
    ) -> str:
        """A request's locale: `lang` cookie, else the user's, else the browser's, else default."""
        for candidate in (normalize_locale(cookie), normalize_locale(user_locale)):
            if candidate:
                return candidate
        return negotiate(accept_language) or self.default_locale
