// The page's side of the call signaling protocol (signaling/PROTOCOL.md, namespace /call).
// Every event goes out with an ack and a timeout; nothing but `join` is sent until the server has
// accepted the join, so events produced during a reconnection wait and go out, in order, after
// the rejoin. A rejoin always uses a fresh token and the page's one peer_id.

import { io } from "/static/vendor/socket.io/socket.io.esm.min.js";

const SERVER_EVENTS = [
  "peer-joined",
  "peer-left",
  "signal",
  "peer-state",
  "chat",
  "waiting",
  "admitted",
  "moderated",
  "mode",
  "sfu",
  "recording-state",
  "audience",
  "agenda",
];

// Error codes after which retrying the join cannot help.
const FATAL_JOIN_ERRORS = new Set(["protocol_mismatch", "peer_id_taken", "forbidden", "already_joined"]);

export class SignalingError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = "SignalingError";
    this.code = code;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One socket.io connection to /call, joined to one room as one peer.
 *
 * Emits DOM events: "status" ({status}), "joined" ({ack, grant, rejoin}), "waiting-room" ({ack}),
 * "fatal" ({code, message}), and every server event under its protocol name with the payload as
 * `detail` ("waiting" carries the moderator's waiting list).
 */
export class CallSignaling extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.peerId UUID chosen once per page load.
   * @param {number} options.protocol Protocol version this client speaks.
   * @param {() => Promise<object>} options.fetchGrant POSTs the join API; resolves to its JSON.
   * @param {() => object} options.currentState The PeerState to announce on (re)join.
   */
  constructor({ peerId, protocol, fetchGrant, currentState, ackTimeoutMs = 10000 }) {
    super();
    this.peerId = peerId;
    this.protocol = protocol;
    this.fetchGrant = fetchGrant;
    this.currentState = currentState;
    this.ackTimeoutMs = ackTimeoutMs;
    this.status = "idle"; // idle | connecting | joined | waiting | reconnecting | closed
    this.grant = null;
    this.joinCount = 0;
    this.closed = false;
    this.pending = [];
    this.joinInFlight = false;
    this.socket = io("/call", {
      transports: ["websocket"],
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: 400,
      reconnectionDelayMax: 2500,
      randomizationFactor: 0.3,
      timeout: 8000,
    });
    this.socket.on("connect", () => this.#join());
    this.socket.on("disconnect", (reason) => this.#onDisconnect(reason));
    for (const name of SERVER_EVENTS) {
      this.socket.on(name, (payload) => this.#onServerEvent(name, payload));
    }
  }

  /** Connect and join; resolves once the first join is answered (joined or waiting). */
  start() {
    this.#setStatus("connecting");
    const first = new Promise((resolve, reject) => {
      const done = () => {
        this.removeEventListener("joined", done);
        this.removeEventListener("waiting-room", done);
        this.removeEventListener("fatal", fail);
        resolve();
      };
      const fail = (event) => {
        this.removeEventListener("joined", done);
        this.removeEventListener("waiting-room", done);
        reject(new SignalingError(event.detail.code, event.detail.message));
      };
      this.addEventListener("joined", done);
      this.addEventListener("waiting-room", done);
      this.addEventListener("fatal", fail, { once: true });
    });
    this.socket.connect();
    return first;
  }

  /** Send a client event; resolves with the ack, rejects with SignalingError. */
  request(event, payload = {}) {
    const allowedNow =
      this.status === "joined" || (this.status === "waiting" && (event === "chat" || event === "leave"));
    if (this.closed) return Promise.reject(new SignalingError("closed", "signaling closed"));
    if (allowedNow && this.socket.connected) return this.#emit(event, payload);
    return new Promise((resolve, reject) => this.pending.push({ event, payload, resolve, reject }));
  }

  /** Leave the room (best effort) and close the socket for good. */
  async leave() {
    if (this.closed) return;
    if (this.socket.connected && (this.status === "joined" || this.status === "waiting")) {
      try {
        await this.#emit("leave", {}, 2000);
      } catch {
        // Leaving anyway: the server's grace timeout covers a lost `leave`.
      }
    }
    this.close();
  }

  close() {
    this.closed = true;
    this.#setStatus("closed");
    this.socket.disconnect();
    for (const item of this.pending.splice(0)) {
      item.reject(new SignalingError("closed", "signaling closed"));
    }
  }

  #emit(event, payload, timeoutMs = this.ackTimeoutMs) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
        if (err) return reject(new SignalingError("timeout", `no ack for ${event}`));
        if (!ack || ack.ok !== true) {
          const error = (ack && ack.error) || { code: "internal", message: "malformed ack" };
          return reject(new SignalingError(error.code, error.message));
        }
        resolve(ack);
      });
    });
  }

  #flush() {
    const items = this.pending.splice(0);
    for (const item of items) {
      const allowed =
        this.status === "joined" || item.event === "chat" || item.event === "leave";
      if (!allowed) {
        this.pending.push(item);
        continue;
      }
      this.#emit(item.event, item.payload).then(item.resolve, item.reject);
    }
  }

  async #join() {
    if (this.closed || this.joinInFlight) return;
    this.joinInFlight = true;
    try {
      for (let attempt = 0; !this.closed && this.socket.connected; attempt++) {
        let grant;
        try {
          grant = await this.fetchGrant();
        } catch (error) {
          if (error && error.fatal) return this.#fatal(error.code || "join_refused", error.message);
          await sleep(Math.min(500 * 2 ** attempt, 4000));
          continue;
        }
        if (grant.protocol !== undefined && grant.protocol !== this.protocol) {
          return this.#fatal("protocol_mismatch", "the server speaks another protocol version");
        }
        if (!this.socket.connected || this.closed) return;
        try {
          const ack = await this.#emit("join", {
            token: grant.token,
            peer_id: this.peerId,
            protocol: this.protocol,
            state: this.currentState(),
          });
          this.grant = grant;
          const rejoin = this.joinCount > 0;
          this.joinCount += 1;
          if (ack.status === "waiting") {
            this.#setStatus("waiting");
            this.#flush();
            this.dispatchEvent(new CustomEvent("waiting-room", { detail: { ack, grant, rejoin } }));
          } else {
            this.#setStatus("joined");
            this.dispatchEvent(new CustomEvent("joined", { detail: { ack, grant, rejoin } }));
            this.#flush();
          }
          return;
        } catch (error) {
          if (FATAL_JOIN_ERRORS.has(error.code)) return this.#fatal(error.code, error.message);
          // Retried, but the page may say why it waits (e.g. media_unavailable).
          this.dispatchEvent(new CustomEvent("join-retry", { detail: { code: error.code } }));
          if (error.code === "timeout" && this.socket.connected) {
            // The socket is up but the server did not answer: start over on a new socket.
            this.socket.disconnect().connect();
            return;
          }
          await sleep(Math.min(500 * 2 ** attempt, 4000));
        }
      }
    } finally {
      this.joinInFlight = false;
    }
  }

  #onDisconnect(reason) {
    if (this.closed) return;
    this.#setStatus("reconnecting");
    // socket.io retries transport losses by itself, but not a disconnect decided by the server.
    if (reason === "io server disconnect") {
      setTimeout(() => {
        if (!this.closed && !this.socket.connected) this.socket.connect();
      }, 250 + Math.random() * 250);
    }
  }

  #onServerEvent(name, payload) {
    if (this.closed) return;
    if (name === "admitted") {
      this.#setStatus("joined");
      this.dispatchEvent(new CustomEvent("joined", { detail: { ack: payload, grant: this.grant, rejoin: false, admitted: true } }));
      this.#flush();
      return;
    }
    if (name === "moderated" && payload && payload.target === this.peerId) {
      if (payload.action === "remove" || payload.action === "refuse") {
        // Out of the room: never reconnect after this.
        this.closed = true;
        this.#setStatus("closed");
        this.socket.disconnect();
      }
    }
    this.dispatchEvent(new CustomEvent(name, { detail: payload }));
  }

  #fatal(code, message) {
    this.closed = true;
    this.#setStatus("closed");
    this.socket.disconnect();
    this.dispatchEvent(new CustomEvent("fatal", { detail: { code, message } }));
  }

  #setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status } }));
  }
}
