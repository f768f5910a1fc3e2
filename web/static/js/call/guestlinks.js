// A moderator's guest invite links, in the people panel: the room's links that still let guests
// in (`GET /api/rooms/{id}/guest-links`), a button that makes a new one, and beside each link a
// button that revokes it (`DELETE .../guest-links/{link}`): nobody joins with it any more and
// its guests in the call are put out (the server does that). Links are shown as text only.

import { t } from "./i18n.js";
import { el, toast } from "./ui.js";

/** A JSON API request with the page's CSRF token; the reply body (null for 204), or an Error with `code`. */
async function api(method, url, body) {
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.content : "", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const reply = response.status === 204 ? null : await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(`${url} answered ${response.status}`);
    error.code = (reply && reply.error && reply.error.code) || String(response.status);
    throw error;
  }
  return reply;
}

export class GuestLinks {
  /** `root`: the hidden block in the people panel; `roomId`; `toasts`: where failures are told. */
  constructor({ root, roomId, toasts }) {
    this.root = root;
    this.url = `/api/rooms/${encodeURIComponent(roomId)}/guest-links`;
    this.toasts = toasts;
    this.list = root.querySelector("#guest-links");
    this.links = [];
    this.mounted = false;
  }

  /** Show the block and read the room's live links; called when the call view opens. */
  async mount() {
    if (this.mounted) return;
    this.mounted = true;
    this.root.querySelector("#guest-link-create").addEventListener("click", () => this.create());
    this.root.hidden = false;
    try {
      this.links = (await api("GET", this.url)).links || [];
    } catch (error) {
      console.warn("junta: guest links not loaded: %s", error.code);
    }
    this.render();
  }

  async create() {
    try {
      this.links.push(await api("POST", this.url, {}));
      this.render();
    } catch (error) {
      toast(this.toasts, t("That action failed ({code}).", { code: error.code }), { kind: "warn" });
    }
  }

  async revoke(link) {
    try {
      await api("DELETE", `${this.url}/${encodeURIComponent(link.id)}`);
    } catch (error) {
      toast(this.toasts, t("That action failed ({code}).", { code: error.code }), { kind: "warn" });
      return;
    }
    this.links = this.links.filter((other) => other.id !== link.id);
    this.render();
    toast(this.toasts, t("The guest link was revoked: nobody can join with it any more."));
  }

  render() {
    const rows = this.links.map((link, index) => {
      const label = t("Guest link {number}", { number: index + 1 });
      return el("li", { class: "guest-link", dataset: { linkId: link.id } },
        el("input", { type: "text", readonly: true, value: link.url, "aria-label": label, class: "guest-link-url" }),
        el("button", { type: "button", class: "mini", "aria-label": t("Revoke {label}", { label }), onclick: () => this.revoke(link) }, t("Revoke")),
      );
    });
    if (rows.length === 0) rows.push(el("li", { class: "guest-link-empty" }, t("No guest links.")));
    this.list.replaceChildren(...rows);
  }
}
