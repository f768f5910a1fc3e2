"""The Content-Security-Policy is enforced, and nothing the app itself does violates it.

Every page a specialist goes through — sign-in form, dashboard, privacy notice, the call page
and a call with a colleague (socket.io over a same-origin WebSocket, camera, video tiles) — runs
under the real policy while a listener reports any `securitypolicyviolation` event to the
console. A final control injects an inline script, to prove the policy is active and the
listener hears violations.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.calls import (
    CONSULTATION,
    LARAZA,
    MERIDA,
    OpenPeople,
    Person,
    enter,
    new_person,
    submit_sign_in,
    wait_connected,
)
from tests.live import LiveServer
from web.http.headers import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser

MARK = "csp-violation:"
# Runs in every document before the page's own scripts (injected by the browser, not by the
# page, so the policy does not apply to it).
LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("MARK " + JSON.stringify({
    directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile,
    line: e.lineNumber, sample: e.sample, page: location.pathname,
  }));
}, true);
""".replace("MARK", MARK)


def csp_reports(person: Person) -> list[str]:
    """Violations the listener reported, and Chromium's own console CSP/policy complaints."""
    return [
        line
        for line in person.console
        if MARK in line
        or "Content Security Policy" in line
        or "Permissions-Policy" in line
        or "Refused to" in line
    ]


def sign_in_watched(browser: Any, server: LiveServer, email: str) -> Person:
    """Like `calls.sign_in`, with the listener installed before the sign-in form loads."""
    person = new_person(browser, email, init_script=LISTENER)
    page = person.page
    response = page.goto(server.url + "/login")
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    submit_sign_in(page, email)
    page.wait_for_url("**/dashboard")
    return person


def test_pages_and_a_call_run_under_the_policy_without_violations(
    browser: Any, call_server: LiveServer, people: list[Person], open_people: OpenPeople
) -> None:
    a = sign_in_watched(browser, call_server, LARAZA)  # sign-in form, then the dashboard
    people.append(a)
    response = a.page.goto(call_server.url + "/dashboard")
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    a.page.wait_for_selector("main")
    a.page.goto(call_server.url + "/privacy")
    a.page.wait_for_selector("#privacy-title")

    [b] = open_people(call_server, MERIDA, init_script=LISTENER)
    enter([a, b], call_server, CONSULTATION)
    wait_connected(a, b)
    # Styles set from JS through the CSSOM (avatar hues, grid size) are not blocked by
    # `style-src 'self'`, and the page uses them.
    assert a.page.evaluate("document.querySelectorAll('[style*=\"--hue\"]').length") > 0
    a.page.wait_for_timeout(500)  # let late reports arrive
    assert csp_reports(a) == [], "\n".join(a.console)
    assert csp_reports(b) == [], "\n".join(b.console)

    # Control: an injected inline script is refused, and the listener hears it.
    a.page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.injected = true";
          document.body.append(s);
        }"""
    )
    a.page.wait_for_timeout(300)
    assert a.page.evaluate("window.injected") is None
    assert any(MARK in line and "script-src" in line for line in csp_reports(a)), a.console
