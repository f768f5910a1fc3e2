"""Rendering pages: the locale of a request and the context every template gets."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from markupsafe import Markup

from casebook.models import User
from web.app.keys import I18N, LOCALE, SETTINGS
from web.http.auth import current_user
from web.http.csrf import csrf_token, set_anonymous_cookie
from web.render.i18n import HTML_LANG, content_lang_attribute
from web.render.waits import wait_in_words

LANG_COOKIE = "lang"


def request_locale(request: web.Request) -> str:
    """The locale of this request: `lang` cookie, user's, Accept-Language, default."""
    locale = request.get(LOCALE)
    if locale is None:
        user = current_user(request)
        locale = request.app[I18N].choose(
            cookie=request.cookies.get(LANG_COOKIE),
            user_locale=user.locale if user else None,
            accept_language=request.headers.get("Accept-Language"),
        )
        request[LOCALE] = locale
    return locale


def gettext(request: web.Request, message: str) -> str:
    """`message` in the request's language (for strings built in Python)."""
    return request.app[I18N].gettext(request_locale(request), message)


def wait_words(request: web.Request, seconds: float) -> str:
    """A wait in plain words in the request's language ("15 minutos")."""
    translations = request.app[I18N].translations[request_locale(request)]
    return wait_in_words(seconds, translations.ngettext)


def user_view(user: User) -> dict[str, str]:
    """What templates and the call page know about a user."""
    return {
        "id": user.id,
        "name": user.display_name,
        "role": user.role,
        "center": user.center.name if user.center else "",
    }


async def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """Render a page in the request's language with the context every page needs."""
    locale = request_locale(request)
    env = request.app[I18N].environments[locale]
    user = current_user(request)
    base: dict[str, Any] = {
        "user": user_view(user) if user else None,
        "csrf_token": csrf_token(request),
        "lang": HTML_LANG[locale],
        "content_lang": Markup(content_lang_attribute(locale)),
        "locale": locale,
        "current_path": request.path_qs,
    }
    base.update(context)
    html = env.get_template(template).render(base)
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Cache-Control"] = "no-store"
    set_anonymous_cookie(request, response, request.app[SETTINGS])
    return response
