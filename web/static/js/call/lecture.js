// Lectures (signaling/PROTOCOL.md, "Lectures"): the presenter and promoted speakers are on stage;
// viewers are a receive-only audience the room does not list. Everyone sees the audience's size
// and raised hands (the `audience` event); moderators page through the viewers, raised hands
// first, promote one to speak and send a speaker back to the audience (the `lecture` event).

import { t } from "./i18n.js";
import { el, icon, initials, avatarHue, toast } from "./ui.js";

const PAGE_SIZE = 20;
// Moderators' open list follows the counts, at most this often.
const REFRESH_MS = 1000;

export class LectureRoom {
  /**
   * @param {object} options
   * @param {(event: string, payload: object) => Promise<object>} options.request signaling request
   * @param {boolean} options.isModerator
   * @param {HTMLElement} options.root the `.call` element (gets `data-audience`)
   * @param {HTMLElement} options.toasts
   */
  constructor({ request, isModerator, root, toasts }) {
    this.request = request;
    this.isModerator = isModerator;
    this.root = root;
    this.toasts = toasts;
    this.counts = { viewers: 0, hands: 0 };
    this.audience = false;
    this.page = 0;
    this.viewers = [];
    /** The peers on stage (from the page's participants), kept for renders the server causes. */
    this.stage = [];
    this.refreshTimer = 0;
    this.lastRefresh = 0;
    this.pill = el("span", { class: "pill pill-quiet", id: "audience-pill", role: "status" });
    this.block = el("div", { id: "audience-block", class: "audience-block" });
    this.list = el("ul", { class: "people-list", id: "audience-list" });
    this.pager = el("div", { class: "audience-pager" });
    this.heading = el("h3", { id: "audience-heading" });
    this.block.append(this.heading, this.list, this.pager);
  }

  /** Put the counts pill and (moderators) the audience list on the page. */
  mount(statusBar, peopleSection) {
    statusBar.prepend(this.pill);
    if (this.isModerator) peopleSection.append(this.block);
    this.render();
  }

  /** The join ack (or `admitted`): our place (stage or audience) and the counts. */
  joined(ack) {
    this.setAudience(Boolean(ack.self && ack.self.audience));
    if (ack.audience) this.setCounts(ack.audience);
  }

  setAudience(audience) {
    this.audience = audience;
    this.root.dataset.audience = String(audience);
  }

  /** `audience` from the server: how many viewers, how many hands up. */
  setCounts(counts) {
    this.counts = { viewers: counts.viewers || 0, hands: counts.hands || 0 };
    this.render();
    if (this.isModerator) this.#scheduleRefresh();
  }

  #scheduleRefresh() {
    if (this.refreshTimer) return;
    const wait = Math.max(0, this.lastRefresh + REFRESH_MS - Date.now());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = 0;
      this.refresh();
    }, wait);
  }

  /** Moderators: fetch the current page of viewers. */
  async refresh() {
    if (!this.isModerator) return;
    this.lastRefresh = Date.now();
    try {
      const ack = await this.request("lecture", { action: "viewers", page: this.page, size: PAGE_SIZE });
      if (ack.viewers.length === 0 && this.page > 0 && ack.total > 0) {
        this.page = Math.floor((ack.total - 1) / PAGE_SIZE);
        return this.refresh();
      }
      this.viewers = ack.viewers;
      this.counts = { viewers: ack.total, hands: ack.hands };
      this.render();
    } catch (error) {
      console.warn("junta: audience not listed: %s", error.code || error);
    }
  }

  async promote(peer) {
    await this.#stage("promote", peer);
  }

  async demote(peer) {
    await this.#stage("demote", peer);
  }

  async #stage(action, peer) {
    try {
      await this.request("lecture", { action, target: peer.peer_id });
      this.refresh();
    } catch (error) {
      toast(this.toasts, t("That action failed ({code}).", { code: error.code || "error" }), { kind: "warn" });
    }
  }

  /** The counts pill, and for moderators the viewers page and the speakers they may send back. */
  render(stage = this.stage) {
    this.stage = stage;
    const { viewers, hands } = this.counts;
    this.pill.textContent = hands
      ? t("{viewers} viewers · {hands} hands raised", { viewers, hands })
      : t("{viewers} viewers", { viewers });
    this.pill.dataset.viewers = String(viewers);
    this.pill.dataset.hands = String(hands);
    if (!this.isModerator) return;
    this.heading.textContent = t("Audience ({count})", { count: viewers });
    const speakers = stage.filter((peer) => !peer.moderator);
    const items = [
      ...speakers.map((peer) => this.#item(peer, t("Back to audience"), () => this.demote(peer), "speaker")),
      ...this.viewers.map((peer) => this.#item(peer, t("Let speak"), () => this.promote(peer), "viewer")),
    ];
    this.list.replaceChildren(...items);
    const pages = Math.max(1, Math.ceil(viewers / PAGE_SIZE));
    const previous = el("button", { type: "button", class: "mini", disabled: this.page === 0, onclick: () => this.#turn(-1) }, t("Previous"));
    const next = el("button", { type: "button", class: "mini", disabled: this.page + 1 >= pages, onclick: () => this.#turn(1) }, t("Next"));
    const where = el("span", { class: "audience-page", text: t("Page {page} of {pages}", { page: this.page + 1, pages }) });
    this.pager.replaceChildren(previous, where, next);
    this.pager.hidden = pages <= 1;
  }

  #turn(delta) {
    this.page = Math.max(0, this.page + delta);
    this.refresh();
  }

  #item(peer, label, onclick, kind) {
    const avatar = el("span", { class: "avatar avatar-small", "aria-hidden": "true", text: initials(peer.name) });
    avatar.style.setProperty("--hue", avatarHue(peer.peer_id));
    const hand = peer.state.hand
      ? el("span", { class: "state state-hand", title: t("Hand raised"), "aria-label": t("Hand raised"), role: "img" }, icon("hand"))
      : null;
    const button = el("button", { type: "button", class: kind === "viewer" ? "mini mini-primary" : "mini", "aria-label": `${label}: ${peer.name}`, onclick }, label);
    const text = el("span", { class: "person-text" },
      el("span", { class: "person-name", text: peer.name }),
      el("span", { class: "person-role", text: kind === "viewer" ? t("Viewer") : t("On stage") }));
    const children = [avatar, text, ...(hand ? [hand] : []), el("span", { class: "person-actions" }, button)];
    return el("li", { class: "person", dataset: { peerId: peer.peer_id, lecture: kind, hand: peer.state.hand ? "up" : "down" } }, ...children);
  }
}
