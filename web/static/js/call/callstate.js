// The call page's shared state: its configuration, the DOM views, our local media, the room's
// participants and the connections to them. Every other page module reads and changes the call
// through here; main.js wires them together.

import { LocalMedia } from "./devices.js";
import { setCatalog } from "./i18n.js";
import { CasePanel } from "./casepanel.js";
import { GuestLinks } from "./guestlinks.js";
import { IceCredentials } from "./iceservers.js";
import { LectureRoom } from "./lecture.js";
import { RecordingControl } from "./recording.js";

/** What room.html's `call-config` block says: room, user, moderator flag, language, grace… */
export const config = JSON.parse(document.getElementById("call-config").textContent);
setCatalog(config.i18n, config.lang);

export const $ = (id) => document.getElementById(id);
export const root = $("call");
const views = { prejoin: $("prejoin"), waiting: $("waiting"), incall: $("incall"), ended: $("ended") };

export const peerId = crypto.randomUUID();
export const media = new LocalMedia();

/** The recording indicator, the moderator's record button and the consent notice. */
export const recording = new RecordingControl({ initial: config.recording, isModerator: config.is_moderator });
/** Lecture rooms: the audience's counts, and the moderators' paged viewer list. */
export const lecture = config.room.kind === "lecture"
  ? new LectureRoom({ request: (event, payload) => call.signaling.request(event, payload), isModerator: Boolean(config.is_moderator), root: $("call"), toasts: $("toasts") })
  : null;
/** A review session's agenda and the case under discussion, beside the video. */
export const casePanel = config.case_panel && $("casepanel")
  ? new CasePanel({ root: $("casepanel"), agendaUrl: config.case_panel.agenda_url, canMove: Boolean(config.is_moderator), request: (event, payload) => call.signaling.request(event, payload), toasts: $("toasts") })
  : null;

/** A moderator's guest invite links (create, revoke), in the people panel. */
export const guestLinks = $("guest-links-block")
  ? new GuestLinks({ root: $("guest-links-block"), roomId: config.room.id, toasts: $("toasts") })
  : null;

/** The ICE servers every connection uses, and their TURN credentials kept fresh (`ice`). */
export const ice = new IceCredentials({ request: () => call.signaling.request("ice", {}) });

/** Everyone in the room (server Peers, including ourselves), by peer_id. */
export const participants = new Map();
/** One PeerLink per remote peer. */
export const links = new Map();
/** The same connections as plain RTCPeerConnections, for tests and debugging. */
export const pcs = new Map();
/** P2P links being handed over to the SFU: peer_id → the timer that closes them at the latest. */
export const handoffs = new Map();
/** What we tell the room about ourselves (`state`). */
export const localState = { audio: true, video: true, screen: false, hand: false, screen_stream: null };

/** The parts of the call that change as it goes. */
export const call = {
  /** The CallSignaling, from the click on "Join now". */
  signaling: null,
  /** The video tiles (ui.js Stage), once in the call. */
  stage: null,
  screenStream: null,
  waitingList: [],
  /** "people" | "chat" | null */
  panel: null,
  unreadChat: 0,
  joinedAt: 0,
  disconnectedAt: 0,
  speakerId: "",
  /** "p2p" (one PeerLink per remote peer) or "sfu" (the SfuSession), as the server decides. */
  mode: "p2p",
  /** The publish and subscribe connections with the media node, in SFU mode. */
  sfu: null,
  /** Whether our grant lets us publish (read from the join token's claims). */
  canPublish: true,
  /** The server could not take us in yet (`media_unavailable`: no media server); it retries. */
  mediaUnavailable: false,
  /** Whether our camera was on before the audience released it (restored when we may speak). */
  cameraWanted: false,
  /** "Audio only": we asked to receive no video (P2P directions, or the SFU pauses it for us). */
  audioOnly: false,
};

/** What we send: the camera stream and tracks (video only while the camera is on), the screen. */
export function localMedia() {
  return {
    camera: media.stream,
    audioTrack: media.audioTrack,
    videoTrack: media.videoEnabled ? media.videoTrack : null,
    screen: call.screenStream,
  };
}

/** The last room events seen (peer joined/left, signaling status), newest last. */
const eventLog = [];

export function logEvent(type, detail = {}) {
  eventLog.push({ type, at: Date.now(), ...detail });
  if (eventLog.length > 200) eventLog.shift();
}

export function show(view) {
  root.dataset.view = view;
  for (const [name, node] of Object.entries(views)) node.hidden = name !== view;
  // Focus that was on a control of the view just hidden (or already lost with a disabled one,
  // like "Join now") goes to the new view's heading, not to the top of the page (WCAG 2.4.3).
  const active = document.activeElement;
  if (!active || active === document.body || !views[view].contains(active) && root.contains(active)) {
    focusQuietly(views[view].querySelector("h1"));
  }
}

/** Move focus to `node` (a heading, say) without it becoming a tab stop. */
export function focusQuietly(node) {
  if (!node) return;
  if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
  node.focus();
}

/**
 * A read-only window onto the call for tests and support staff (`window.junta`); `extra` adds
 * what modules above this one know (main.js passes the connection quality).
 */
export function debugHandle(extra = {}) {
  return Object.freeze({
    ...extra,
    peerId,
    peers: participants,
    pcs,
    links,
    events: eventLog,
    /** "p2p" or "sfu". */
    get mode() {
      return call.mode;
    },
    /** The SfuSession (publishPc, subscribePc, streams, tracksByMid) in SFU mode, else null. */
    get sfu() {
      return call.sfu;
    },
    /** The RTCPeerConnection that carries `remote`'s media now: its P2P one, or the subscription. */
    mediaPc(remote) {
      const link = links.get(remote);
      const sfu = call.sfu;
      if (sfu && sfu.subscribePc && (!link || sfu.receiving(remote))) return sfu.subscribePc;
      return link ? link.pc : null;
    },
    /** The ICE servers in use, the seconds their TURN credentials have left, refreshes so far. */
    ice: () => ice.snapshot(),
    /** What the page knows of the room's recording (and our answer). */
    recording: () => recording.snapshot(),
    state: () => ({
      view: root.dataset.view,
      mode: call.mode,
      sfu: call.sfu ? call.sfu.snapshot() : null,
      signaling: call.signaling ? call.signaling.status : "idle",
      local: { ...localState },
      audioOnly: call.audioOnly,
      joinCount: call.signaling ? call.signaling.joinCount : 0,
      peers: [...participants.values()].map((p) => ({ ...p, state: { ...p.state } })),
      waiting: call.waitingList.map((p) => p.peer_id),
      links: [...links.values()].map((l) => ({ peer_id: l.remoteId, polite: l.polite, connection: l.connectionState, ice: l.pc.iceConnectionState, iceRestarts: l.iceRestarts })),
    }),
  });
}
