// The call's ICE servers and the life of their TURN credentials (signaling/PROTOCOL.md, "ICE
// servers"). They come with admission (the join ack or `admitted`) and expire after
// `ice_expires_in` seconds; coturn checks them only when a connection allocates a relay, so the
// page asks for fresh ones (`ice`) shortly before they expire, and before a new connection or an
// ICE restart if they are about to. Existing connections get them through setConfiguration.

// Ask this long before the credentials expire (at most a quarter of their lifetime, for short
// ones), so that the answer arrives in time even on a slow link.
const REFRESH_LEAD_MS = 60000;
// Credentials expiring sooner than this are not good enough for a new connection: its ICE
// gathering and TURN allocation take a few seconds.
const STALE_MS = 20000;
const RETRY_MS = 5000;
const MIN_DELAY_MS = 1000;
// A connection waits at most this long for fresh credentials, then makes do with what it has.
const WAIT_MS = 5000;

export class IceCredentials extends EventTarget {
  /**
   * @param {object} options
   * @param {() => Promise<object>} options.request sends `ice`, resolves with its ack
   * @param {() => number} [options.now] a monotonic clock in ms (the page's own wall clock may
   *        be wrong; only the server's "expires in" counts)
   */
  constructor({ request, now = () => performance.now() }) {
    super();
    this.request = request;
    this.now = now;
    /** @type {RTCIceServer[]} */
    this.servers = [];
    /** When the TURN credentials expire, on `now`'s clock; null without TURN. */
    this.expiresAt = null;
    this.lifetimeMs = 0;
    this.refreshes = 0;
    this.timer = 0;
    this.inFlight = null;
    this.closed = false;
  }

  /** ICE servers from an ack (join, `admitted` or `ice`); "change" tells the connections. */
  set(servers, expiresIn) {
    if (this.closed) return;
    this.servers = servers || [];
    clearTimeout(this.timer);
    if (typeof expiresIn !== "number") {
      this.expiresAt = null;
      this.lifetimeMs = 0;
    } else {
      this.lifetimeMs = Math.max(0, expiresIn * 1000);
      this.expiresAt = this.now() + this.lifetimeMs;
      this.#schedule(Math.max(MIN_DELAY_MS, this.lifetimeMs - this.#lead(REFRESH_LEAD_MS)));
    }
    this.dispatchEvent(new CustomEvent("change", { detail: { servers: this.servers } }));
  }

  /** Whether the credentials expire too soon for a new connection (never without TURN). */
  get stale() {
    return this.expiresAt !== null && this.expiresAt - this.now() <= Math.max(MIN_DELAY_MS, this.#lead(STALE_MS));
  }

  /**
   * Before a new connection or an ICE restart: null when the current servers will do, else a
   * promise of fresh ones (the current ones if none come within WAIT_MS).
   */
  ensureFresh() {
    if (!this.stale) return null;
    const fallback = new Promise((resolve) => setTimeout(() => resolve(this.servers), WAIT_MS));
    return Promise.race([this.refresh().then(() => this.servers, () => this.servers), fallback]);
  }

  /** Ask the server for fresh credentials; concurrent callers share one request. */
  refresh() {
    if (this.closed) return Promise.resolve();
    if (!this.inFlight) {
      this.inFlight = this.request()
        .then((ack) => {
          this.refreshes += 1;
          this.set(ack.ice_servers, ack.ice_expires_in);
        })
        .catch((error) => {
          // Out of the call (`not_joined`) or going: the next join ack brings new ones.
          if (!this.closed && !["closed", "not_joined"].includes(error && error.code)) this.#schedule(RETRY_MS);
          throw error;
        })
        .finally(() => {
          this.inFlight = null;
        });
    }
    return this.inFlight;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** For the debug handle: the servers and the seconds their TURN credentials have left. */
  snapshot() {
    return {
      servers: this.servers.map((s) => ({ ...s })),
      expiresIn: this.expiresAt === null ? null : Math.round((this.expiresAt - this.now()) / 1000),
      refreshes: this.refreshes,
    };
  }

  #lead(ms) {
    return Math.min(ms, this.lifetimeMs / 4);
  }

  #schedule(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh().catch((error) => {
      console.warn("junta: fresh ICE servers not received: %s", (error && error.code) || error);
    }), delay);
  }
}
