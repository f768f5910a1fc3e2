"""Security headers on every response: pages, JSON API, static files, errors and redirects.

Content-Security-Policy (what a page may load and run; the last line of defence against XSS in
pages that show clinical data of minors):

- `default-src 'self'`: anything not named below comes from this origin only.
- `script-src 'self'`: no inline script, no `eval`, no other origin. The templates have no inline
  script; the call page's configuration is a `<script type="application/json">` data block,
  which is never executed and so needs no permission.
- `style-src 'self'`: no `style="…"` attributes or `<style>` elements in markup (there are
  none; keep it so). The call page sets CSS properties from JS through the CSSOM
  (`el.style.setProperty("--hue", …)`), which CSP does not restrict, so `'unsafe-inline'`
  is NOT needed.
- `img-src 'self' data: blob:`: icons plus images made in the page (snapshots, avatars).
- `media-src 'self' blob:`: camera/microphone/screen streams attach as `srcObject`; `blob:`
  covers recordings played back from memory.
- `connect-src 'self'`: fetch/XHR and the socket.io WebSocket. CSP Level 3 makes `'self'` match
  `ws:`/`wss:` on the same host and port (Chromium, Firefox and Safari do); the browser test
  `tests/browser/test_csp.py` checks a call connects with no violation reported. No explicit
  `ws:`/`wss:` scheme source, which would allow sockets to ANY host.
- `frame-ancestors 'none'`: never framed (clickjacking); `X-Frame-Options: DENY` for old browsers.
- `base-uri 'none'`, `form-action 'self'`, `object-src 'none'`: no `<base>` hijack of relative
  URLs, forms post only here, no plugins.

Other headers:

- `Referrer-Policy: same-origin`: URLs carry room ids and case ids; nothing of them leaves the
  site (strict-origin-when-cross-origin would still send our origin to other sites, and the
  app has no need to tell anyone where its users come from).
- `Permissions-Policy`: camera, microphone, screen capture, fullscreen and autoplay for this
  origin only (the call page needs them); location, payment and device APIs for nobody.
- `X-Content-Type-Options: nosniff`; `Cross-Origin-Opener-Policy: same-origin` (a window this
  site opens, or that opens it, gets no handle on it).
- `Strict-Transport-Security: max-age=31536000; includeSubDomains` ONLY when the app is
  configured for TLS. The rule is `settings.cookie_secure` (`JUNTA_COOKIE_SECURE=true`): Junta
  runs behind a TLS-terminating proxy, so `request.secure` is false on the app's own socket;
  the same setting already says "this deployment is HTTPS only" for the cookies. HSTS over
  plain HTTP would be ignored by browsers anyway, and sending it on a development server would
  pin `localhost` to HTTPS.

The headers are applied by a middleware, both to returned responses and to raised HTTP
exceptions (redirects such as `HTTPSeeOther` travel as exceptions past the other middlewares).
A response already prepared by its handler (a WebSocket upgrade) is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from web.app.keys import SETTINGS

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

    from aiohttp.typedefs import Handler

CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "worker-src": "'self'",
    "manifest-src": "'self'",
    "frame-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "object-src": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in CSP_DIRECTIVES.items())

PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "microphone=(self)",
        "display-capture=(self)",
        "fullscreen=(self)",
        "autoplay=(self)",
        "geolocation=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "hid=()",
        "midi=()",
        "accelerometer=()",
        "gyroscope=()",
        "magnetometer=()",
    ]
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
}

HSTS = "max-age=31536000; includeSubDomains"


def uses_tls(request: web.Request) -> bool:
    """Whether this deployment is served over HTTPS: the `cookie_secure` setting says so."""
    settings = request.app.get(SETTINGS)
    return bool(settings is not None and settings.cookie_secure)


def headers_for(request: web.Request) -> Mapping[str, str]:
    """The security headers of a response to `request`."""
    if uses_tls(request):
        return {**SECURITY_HEADERS, "Strict-Transport-Security": HSTS}
    return SECURITY_HEADERS


def _apply(headers: MutableMapping[str, str], extra: Mapping[str, str]) -> None:
    for name, value in extra.items():
        headers.setdefault(name, value)


@web.middleware
async def security_headers_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Add the security headers to every response (or raised HTTP exception) not yet sent."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _apply(exc.headers, headers_for(request))
        raise
    if not response.prepared:
        _apply(response.headers, headers_for(request))
    return response
