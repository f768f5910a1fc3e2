"""Checking a page as the WCAG 2.1 AA audit of issue 26 did: axe-core, and reflow at 320 px.

axe-core comes from npm (a devDependency: node_modules/axe-core) and is added to the page by
the test, in a browser context that bypasses the Content-Security-Policy; the app never serves
it. Only serious and critical violations count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")

RUN_AXE = """async ([tags, impacts]) => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  return result.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => `${v.id} (${v.impact}): ` + v.nodes.slice(0, 5).map((n) => {
      const why = n.failureSummary.replace(/\\s+/g, " ").slice(0, 220);
      return `${n.target.join(" ")}: ${why}`;
    }).join(" | "));
}"""

# Elements whose right edge is past the window's at 320 px (WCAG 1.4.10), except inside a data
# table, which may scroll; what is hidden or clipped away (visually-hidden text) does not count.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const node of document.querySelectorAll("body *")) {
    if (node.closest("table, .visually-hidden, [hidden], dialog:not([open])")) continue;
    const box = node.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    const name = node.tagName.toLowerCase() + (node.id ? `#${node.id}` : "")
      + (node.classList.length ? `.${[...node.classList].join(".")}` : "");
    found.push(`${name} to ${Math.round(box.right)} px`);
  }
  const scroll = document.documentElement.scrollWidth;
  if (scroll > width + 1 && !found.length) found.push(`the page scrolls to ${scroll} px`);
  return found.slice(0, 6);
}"""


def axe_violations(page: Any) -> list[str]:
    """The page's serious and critical WCAG 2.1 A/AA violations, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    return list(page.evaluate(RUN_AXE, [WCAG_AA, list(FAILING_IMPACTS)]))


def overflow_at_320(page: Any) -> list[str]:
    """What sticks out past the right edge of a 320 px window (the page is left as it was)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    try:
        return list(page.evaluate(OVERFLOWING))
    finally:
        page.set_viewport_size(size)
