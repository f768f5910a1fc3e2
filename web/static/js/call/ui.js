// Rendering for the call page. User-provided text (names, chat) only ever goes into the DOM as
// textContent or attribute values, never as HTML.

import { t, formatTime } from "./i18n.js";

/** Create an element; `children` may be strings (as text) or nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** A sprite icon from room.html's <svg> symbols. */
export function icon(name, extraClass = "") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `icon ${extraClass}`.trim());
  const use = document.createElementNS(SVG_NS, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

export function initials(name) {
  const words = String(name || "?")
    .replace(/^(dr|dra|lic|mtro|mtra)\.?\s+/i, "")
    .split(/\s+/)
    .filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

/** A stable, pleasant avatar colour per person. */
export function avatarHue(seed) {
  let hash = 0;
  for (const char of String(seed)) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % 360;
}

// ---------------------------------------------------------------------------------------- tiles

/** One video tile: a person's camera (or avatar) or a shared screen. */
class Tile {
  constructor({ key, kind, local }) {
    this.key = key;
    this.kind = kind;
    this.local = local;
    this.stream = null;
    this.sinkId = "";
    this.video = el("video", { autoplay: true, playsinline: true, class: local && kind === "camera" ? "mirror" : "" });
    // Our own audio must never play back to us; remote audio plays from the camera tile.
    this.video.muted = local || kind === "screen";
    this.avatar = el("span", { class: "avatar", "aria-hidden": "true" });
    this.name = el("span", { class: "tile-name" });
    this.micOff = icon("mic-off", "tile-mic-off");
    this.hand = el("span", { class: "tile-hand", title: t("Hand raised") }, icon("hand"));
    this.status = el("span", { class: "tile-status" });
    // Three bars, lit by the connection's level (quality.js); the words are its label.
    this.quality = el("span", { class: "tile-quality", role: "img", hidden: true },
      el("span", { class: "bar" }), el("span", { class: "bar" }), el("span", { class: "bar" }));
    this.node = el(
      "figure",
      { class: `tile tile-${kind}`, dataset: { key, kind } },
      this.video,
      el("div", { class: "tile-avatar" }, this.avatar),
      el("figcaption", { class: "tile-caption" }, this.quality, this.micOff, this.name, this.status),
      this.hand,
    );
    this.video.addEventListener("loadedmetadata", () => this.#play());
  }

  update({ peerId, name, stream, audio, video, hand, connected, sinkId, quality }) {
    this.node.dataset.peerId = peerId;
    const label = this.kind === "screen" ? t("{name} is presenting", { name }) : this.local ? t("{name} (you)", { name }) : name;
    this.name.textContent = label;
    this.node.setAttribute("aria-label", label);
    this.avatar.textContent = initials(name);
    this.avatar.style.setProperty("--hue", avatarHue(peerId));
    if (stream !== this.stream) {
      this.stream = stream;
      this.video.srcObject = stream || null;
      if (stream) this.#play();
    }
    const showVideo = this.kind === "screen" || (video && Boolean(stream) && stream.getVideoTracks().length > 0);
    this.node.classList.toggle("video-off", !showVideo);
    this.node.classList.toggle("muted", this.kind === "camera" && !audio);
    this.node.classList.toggle("hand-up", this.kind === "camera" && Boolean(hand));
    this.node.classList.toggle("reconnecting", !connected);
    this.node.dataset.audio = audio ? "on" : "off";
    this.node.dataset.video = showVideo ? "on" : "off";
    this.status.textContent = connected ? "" : t("Reconnecting…");
    if (quality !== undefined) this.#showQuality(quality);
    if (!this.local && sinkId !== undefined && sinkId !== this.sinkId && typeof this.video.setSinkId === "function") {
      this.sinkId = sinkId;
      this.video.setSinkId(sinkId).catch((error) => console.warn("junta: setSinkId failed: %s", error));
    }
  }

  /** `quality`: {level, text} (text: the verdict in words), or null to hide the bars. */
  #showQuality(quality) {
    this.quality.hidden = !quality || !quality.level;
    if (this.quality.hidden) return;
    this.quality.dataset.level = quality.level;
    this.quality.setAttribute("aria-label", quality.text);
    this.quality.title = quality.text;
  }

  #play() {
    const playing = this.video.play();
    if (playing) playing.catch(() => {/* autoplay: retried on the next user gesture */});
  }

  remove() {
    this.video.srcObject = null;
    this.node.remove();
  }
}

/** The video area: a grid of camera tiles, or a shared screen with the cameras in a strip. */
export class Stage {
  constructor(root) {
    this.root = root;
    this.main = el("div", { class: "stage-main" });
    this.grid = el("div", { class: "stage-grid" });
    root.append(this.main, this.grid);
    this.tiles = new Map();
    new ResizeObserver(() => this.layout()).observe(root);
  }

  /** Create or update the tile `key`; `spec` as in Tile.update plus kind/local. */
  upsert(key, spec) {
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = new Tile({ key, kind: spec.kind, local: spec.local });
      this.tiles.set(key, tile);
      (spec.kind === "screen" ? this.main : this.grid).append(tile.node);
      this.layoutSoon();
    }
    tile.update(spec);
    return tile;
  }

  remove(key) {
    const tile = this.tiles.get(key);
    if (!tile) return;
    tile.remove();
    this.tiles.delete(key);
    this.layoutSoon();
  }

  keys() {
    return [...this.tiles.keys()];
  }

  layoutSoon() {
    cancelAnimationFrame(this.pending);
    this.pending = requestAnimationFrame(() => this.layout());
  }

  /** Choose the column count that gives the largest 16:9 tiles. */
  layout() {
    const presenting = this.main.childElementCount > 0;
    this.root.dataset.layout = presenting ? "presentation" : "grid";
    const count = Math.max(1, this.grid.childElementCount);
    const box = this.grid.getBoundingClientRect();
    if (presenting || !box.width || !box.height) {
      this.grid.style.removeProperty("--cols");
      return;
    }
    const gap = 12;
    let best = { cols: 1, area: 0 };
    for (let cols = 1; cols <= count; cols++) {
      const rows = Math.ceil(count / cols);
      const width = (box.width - gap * (cols - 1)) / cols;
      const height = (box.height - gap * (rows - 1)) / rows;
      const tileWidth = Math.min(width, (height * 16) / 9);
      const area = tileWidth * ((tileWidth * 9) / 16);
      if (area > best.area) best = { cols, area, tileWidth };
    }
    this.grid.style.setProperty("--cols", String(best.cols));
    this.grid.style.setProperty("--tile-width", `${Math.floor(best.tileWidth)}px`);
    this.grid.dataset.count = String(count);
  }
}

// ---------------------------------------------------------------------------------------- people

function statusIcons(state, connected) {
  const icons = el("span", { class: "person-status" });
  if (!connected) icons.append(el("span", { class: "tag tag-warn" }, t("Reconnecting…")));
  if (state.hand) icons.append(el("span", { class: "state state-hand", title: t("Hand raised"), "aria-label": t("Hand raised"), role: "img" }, icon("hand")));
  if (state.screen) icons.append(el("span", { class: "state", title: t("Presenting"), "aria-label": t("Presenting"), role: "img" }, icon("screen")));
  icons.append(
    state.video
      ? el("span", { class: "state", title: t("Camera on"), "aria-label": t("Camera on"), role: "img" }, icon("cam"))
      : el("span", { class: "state state-off", title: t("Camera off"), "aria-label": t("Camera off"), role: "img" }, icon("cam-off")),
  );
  icons.append(
    state.audio
      ? el("span", { class: "state", title: t("Microphone on"), "aria-label": t("Microphone on"), role: "img" }, icon("mic"))
      : el("span", { class: "state state-off", title: t("Muted"), "aria-label": t("Muted"), role: "img" }, icon("mic-off")),
  );
  return icons;
}

/**
 * The participant list. `onAction(action, peer)` receives moderator actions
 * ("mute" | "lower-hand" | "remove").
 */
export function renderPeople(list, peers, { selfId, canModerate, onAction }) {
  const sorted = [...peers].sort((a, b) => {
    if (a.peer_id === selfId) return -1;
    if (b.peer_id === selfId) return 1;
    if (a.state.hand !== b.state.hand) return a.state.hand ? -1 : 1;
    return a.name.localeCompare(b.name);
  });
  const items = sorted.map((peer) => {
    const self = peer.peer_id === selfId;
    const label = self ? t("{name} (you)", { name: peer.name }) : peer.name;
    const avatar = el("span", { class: "avatar avatar-small", "aria-hidden": "true", text: initials(peer.name) });
    avatar.style.setProperty("--hue", avatarHue(peer.peer_id));
    const actions = el("span", { class: "person-actions" });
    if (canModerate && !self) {
      if (peer.state.audio) {
        actions.append(el("button", { type: "button", class: "mini", "aria-label": t("Mute {name}", { name: peer.name }), onclick: () => onAction("mute", peer) }, t("Mute")));
      }
      if (peer.state.hand) {
        actions.append(el("button", { type: "button", class: "mini", "aria-label": t("Lower {name}'s hand", { name: peer.name }), onclick: () => onAction("lower-hand", peer) }, t("Lower hand")));
      }
      actions.append(el("button", { type: "button", class: "mini mini-danger", "aria-label": t("Remove {name} from the call", { name: peer.name }), onclick: () => onAction("remove", peer) }, t("Remove")));
    }
    return el(
      "li",
      {
        class: `person${peer.connected ? "" : " person-reconnecting"}`,
        dataset: {
          peerId: peer.peer_id,
          audio: peer.state.audio ? "on" : "off",
          video: peer.state.video ? "on" : "off",
          hand: peer.state.hand ? "up" : "down",
          screen: peer.state.screen ? "on" : "off",
          connected: peer.connected ? "true" : "false",
        },
      },
      avatar,
      el("span", { class: "person-text" },
        el("span", { class: "person-name", text: label }),
        el("span", { class: "person-role", text: peer.moderator ? t("Moderator") : roleLabel(peer.role) })),
      statusIcons(peer.state, peer.connected),
      actions,
    );
  });
  list.replaceChildren(...items);
}

function roleLabel(role) {
  const labels = {
    specialist: t("Specialist"),
    coordinator: t("Coordinator"),
    referrer: t("Referring physician"),
    admin: t("Administrator"),
    lecturer: t("Lecturer"),
    trainee: t("Trainee"),
    guest: t("Guest lecturer"),
  };
  return labels[role] || "";
}

/** The moderator's waiting list; `onAction("admit" | "refuse", peer)`. */
export function renderWaiting(list, peers, onAction) {
  list.replaceChildren(
    ...peers.map((peer) => {
      const avatar = el("span", { class: "avatar avatar-small", "aria-hidden": "true", text: initials(peer.name) });
      avatar.style.setProperty("--hue", avatarHue(peer.peer_id));
      return el(
        "li",
        { class: "person person-waiting", dataset: { peerId: peer.peer_id } },
        avatar,
        el("span", { class: "person-text" }, el("span", { class: "person-name", text: peer.name }), el("span", { class: "person-role", text: roleLabel(peer.role) })),
        el("span", { class: "person-actions" },
          el("button", { type: "button", class: "mini mini-primary", "aria-label": t("Admit {name}", { name: peer.name }), onclick: () => onAction("admit", peer) }, t("Admit")),
          el("button", { type: "button", class: "mini", "aria-label": t("Refuse {name}", { name: peer.name }), onclick: () => onAction("refuse", peer) }, t("Refuse"))),
      );
    }),
  );
}

// ---------------------------------------------------------------------------------------- chat

export function appendChat(log, message, selfId) {
  if (log.querySelector(`[data-message-id="${CSS.escape(String(message.id))}"]`)) return false;
  const mine = message.peer_id === selfId;
  log.append(
    el(
      "li",
      { class: `chat-message${mine ? " mine" : ""}`, dataset: { messageId: message.id, peerId: message.peer_id } },
      el("div", { class: "chat-meta" },
        el("span", { class: "chat-author", text: mine ? t("You") : message.name }),
        el("time", { datetime: message.at, text: formatTime(message.at) })),
      el("p", { class: "chat-text", text: message.text }),
    ),
  );
  log.scrollTop = log.scrollHeight;
  return true;
}

// ---------------------------------------------------------------------------------------- notices

export function toast(container, text, { kind = "info", ms = 4000 } = {}) {
  const node = el("div", { class: `toast toast-${kind}`, role: "status", text });
  container.append(node);
  setTimeout(() => node.classList.add("leaving"), ms);
  setTimeout(() => node.remove(), ms + 400);
}

export function setBanner(banner, text, kind = "warn") {
  banner.hidden = !text;
  banner.textContent = text || "";
  banner.dataset.kind = kind;
}

// ---------------------------------------------------------------------------------------- buttons

/** An on/off button (microphone, camera): its label, pressed state and icon follow `on`. */
export function setToggle(button, on, iconName, onLabel, offLabel) {
  const label = on ? onLabel : offLabel;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.classList.toggle("off", !on);
  button.setAttribute("aria-pressed", on ? "false" : "true");
  const use = button.querySelector("use");
  if (use) use.setAttribute("href", `#i-${on ? iconName : `${iconName}-off`}`);
}
