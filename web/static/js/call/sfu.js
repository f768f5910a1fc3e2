// The call through the media node (signaling/PROTOCOL.md, "Through the SFU"): two
// RTCPeerConnections with the server instead of one per remote peer.
//
// - publish: we offer our camera, microphone and screen (each sendonly; the screen in its own
//   transceiver and MediaStream) with `sfu {action: "publish"}` and get the answer in the ack.
//   Camera off and device changes are replaceTrack(), as in P2P; a screen share adds or stops a
//   transceiver and renegotiates with a new publish offer.
// - subscribe: the server offers every other participant's tracks (`sfu {kind: "offer"}`, with
//   `tracks` mapping each mid to {peer_id, kind, source, stream_id}); we answer in order. Remote
//   media is regrouped into one MediaStream per (peer, source), the streams the tiles show.
//
// The media node (aiortc) has no ICE restart: a leg that fails is closed and replaced by a new
// RTCPeerConnection (publish with `restart: true`, or `sfu {action: "resubscribe"}`).

// A leg "disconnected" this long, or still not connected this long after its negotiation, is
// treated as failed and replaced. A leg whose ICE checks or DTLS handshake are still under way
// when the timer fires gets up to CONNECT_PATIENCE more periods: on a loaded machine a handshake
// can outlast one period, and a replacement would start it over from nothing, no faster, so a
// busy server would never get a leg up (each try thrown away just before it would have worked).
const DISCONNECTED_GRACE_MS = 4000;
const CONNECT_TIMEOUT_MS = 12000;
const CONNECT_PATIENCE = 2;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 10000;

/** A signaling error's code, or a DOMException's name and message. */
const describe = (error) => (error && typeof error.code === "string" ? error.code : `${error && error.name}: ${error && error.message}`);

const iceUfrag = (sdp) => ((sdp || "").match(/^a=ice-ufrag:(\S+)/m) || [])[1] || null;

export class SfuSession extends EventTarget {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers from the join ack (or `admitted`)
   * @param {() => Promise<RTCIceServer[]>|null} [options.freshIce] before a new leg gathers ICE:
   *        null when the current servers will do, else a promise of fresh ones (TURN
   *        credentials about to expire)
   * @param {(payload: object) => Promise<object>} options.request sends an `sfu` event, resolves
   *        with its ack
   * @param {boolean} options.publish whether our grant lets us publish
   * @param {() => {camera: MediaStream, audioTrack: MediaStreamTrack|null,
   *          videoTrack: MediaStreamTrack|null, screen: MediaStream|null}} options.localMedia
   * @param {boolean} [options.receiveVideo] false: audio only, the server forwards us no video
   */
  constructor({ iceServers, freshIce = () => null, request, publish = true, localMedia, receiveVideo = true }) {
    super();
    this.receiveVideo = receiveVideo;
    this.iceServers = iceServers || [];
    this.freshIce = freshIce;
    this.request = request;
    this.canPublish = publish;
    this.localMedia = localMedia;
    this.closed = false;
    /** Publish leg. */
    this.publishPc = null;
    this.audio = null;
    this.video = null;
    this.screen = null;
    this.publishing = Promise.resolve();
    this.publishWanted = false;
    this.publishRestart = false;
    this.publishFailures = 0;
    this.publishes = 0;
    /** The server refused our last publish offer with `too_many_tracks`: retrying until it lets it through. */
    this.publishLimited = false;
    /** Subscribe leg. */
    this.subscribePc = null;
    this.offers = Promise.resolve();
    this.tracksByMid = {};
    this.subscribeFailures = 0;
    this.offersAnswered = 0;
    /** MediaStreams we show, by `${peer_id}:${source}`. */
    this.streams = new Map();
    this.timers = new Map();
    this.lastError = null;
  }

  /** Open the publish leg (the subscribe leg opens with the server's first offer). */
  start() {
    if (this.canPublish) this.#openPublish(false);
    if (!this.receiveVideo) this.#tellReceive();
  }

  /** Receive video again (true) or not (false: audio only): the server pauses it for us. */
  setReceiveVideo(on) {
    if (this.closed || on === this.receiveVideo) return;
    this.receiveVideo = on;
    this.#tellReceive();
  }

  #tellReceive() {
    this.request({ action: "receive", video: this.receiveVideo }).catch((error) => {
      this.lastError = describe(error);
      console.warn(`junta: SFU receive preference not sent: ${describe(error)}`);
    });
  }

  // ---------------------------------------------------------------------------------- publish

  #openPublish(restart) {
    if (this.closed) return;
    if (this.publishPc) this.#closePc(this.publishPc, "publish");
    // max-bundle: one transport, and renegotiated m-lines (a screen share) join its BUNDLE group.
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    this.publishPc = pc;
    this.publishRestart = restart;
    const { camera, audioTrack, videoTrack, screen } = this.localMedia();
    this.audio = pc.addTransceiver(audioTrack || "audio", { direction: "sendonly", streams: [camera] });
    this.video = pc.addTransceiver(videoTrack || "video", { direction: "sendonly", streams: [camera] });
    this.screen = null;
    const screenTrack = screen ? screen.getVideoTracks()[0] : null;
    if (screenTrack) this.screen = pc.addTransceiver(screenTrack, { direction: "sendonly", streams: [screen] });
    this.#watchLeg(pc, "publish");
    this.#trickle(pc, "publish");
    pc.onnegotiationneeded = () => this.#negotiatePublish(pc);
    this.#changed();
  }

  /** Offer → `sfu publish` → answer; serialized, and repeated while changes keep coming. */
  #negotiatePublish(pc) {
    this.publishWanted = true;
    this.publishing = this.publishing.then(async () => {
      if (this.closed || pc !== this.publishPc || !this.publishWanted) return;
      if (pc.signalingState !== "stable") return;
      this.publishWanted = false;
      try {
        // A new leg gathers ICE with its first offer: not with TURN credentials about to expire.
        const fresh = pc.sentDescription ? null : this.freshIce();
        if (fresh) {
          this.setIceServers(await fresh);
          if (this.closed || pc !== this.publishPc) return;
        }
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        const payload = { action: "publish", description: { type: "offer", sdp: pc.localDescription.sdp } };
        if (this.publishRestart) payload.restart = true;
        let ack;
        try {
          ack = await this.request(payload);
        } catch (error) {
          // A server that does not know `restart` yet: a plain publish still works when its old
          // connection is gone.
          if (payload.restart && error.code === "invalid_payload") {
            delete payload.restart;
            ack = await this.request(payload);
          } else {
            throw error;
          }
        }
        if (pc !== this.publishPc || pc.signalingState === "closed") return;
        await pc.setRemoteDescription(ack.description);
        pc.sentDescription = true;
        this.#flushCandidates(pc);
        this.publishRestart = false;
        this.publishFailures = 0;
        this.publishLimited = false;
        this.publishes += 1;
        this.#armConnectTimer(pc, "publish");
      } catch (error) {
        this.lastError = describe(error);
        console.warn(`junta: SFU publish failed: ${describe(error)}`);
        if (pc === this.publishPc) {
          this.publishLimited = Boolean(error) && error.code === "too_many_tracks";
          this.#retry("publish", error);
        }
      }
      this.#changed();
    });
    return this.publishing;
  }

  /** Send another camera or microphone track (or null: camera off) without renegotiating. */
  async replaceTrack(kind, track) {
    const transceiver = kind === "audio" ? this.audio : this.video;
    if (transceiver && this.publishPc && this.publishPc.signalingState !== "closed") {
      await transceiver.sender.replaceTrack(track);
    }
  }

  /** Start, switch or (null) stop sending a screen share: its own transceiver, renegotiated. */
  setScreen(stream) {
    const pc = this.publishPc;
    if (this.closed || !pc || pc.signalingState === "closed") return;
    if (this.screen) {
      // Not stop(): aiortc 1.16 answers a stopped (port 0) m-line still inside its BUNDLE group,
      // which Chromium rejects. An inactive transceiver ends the published track just the same.
      const old = this.screen;
      this.screen = null;
      old.direction = "inactive";
      old.sender.replaceTrack(null).catch(() => {});
    }
    const track = stream ? stream.getVideoTracks()[0] : null;
    if (track) this.screen = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    // negotiationneeded follows and sends the new publish offer.
  }

  // ---------------------------------------------------------------------------------- subscribe

  /** A server `sfu` event: only subscription offers are defined. */
  receive(message) {
    if (!message || message.kind !== "offer" || !message.description) return this.offers;
    this.offers = this.offers
      .then(() => this.#answer(message))
      .catch((error) => {
        this.lastError = describe(error);
        console.warn(`junta: SFU subscription offer failed: ${describe(error)}`);
        this.#retry("subscribe", error);
      });
    return this.offers;
  }

  async #answer({ description, tracks }) {
    if (this.closed) return;
    let pc = this.subscribePc;
    if (pc && pc.signalingState === "stable" && pc.remoteDescription && pc.remoteDescription.sdp === description.sdp) {
      // The same offer again (re-sent after a rejoin): our answer may have been lost with the
      // socket. Send it again; if the server had it already, it says so and nothing changes.
      try {
        await this.request({ action: "answer", description: { type: "answer", sdp: pc.localDescription.sdp } });
      } catch (error) {
        console.info(`junta: repeated SFU answer not needed: ${describe(error)}`);
      }
      return;
    }
    const current = pc && pc.remoteDescription ? iceUfrag(pc.remoteDescription.sdp) : null;
    const fresh = !pc || pc.signalingState === "closed" || (current && iceUfrag(description.sdp) !== current);
    if (fresh) {
      // A new connection on the server (first offer, resubscribe, or recreated after a rejoin).
      const renewing = this.freshIce();
      if (renewing) {
        this.setIceServers(await renewing);
        if (this.closed) return;
      }
      if (pc) this.#closePc(pc, "subscribe");
      pc = new RTCPeerConnection({ iceServers: this.iceServers });
      this.subscribePc = pc;
      this.#watchLeg(pc, "subscribe");
      this.#trickle(pc, "subscribe");
      pc.ontrack = ({ track }) => {
        track.addEventListener("unmute", () => this.#changed());
        track.addEventListener("mute", () => this.#changed());
        this.#changed();
      };
    }
    await pc.setRemoteDescription({ type: "offer", sdp: description.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.tracksByMid = tracks || {};
    this.#regroup();
    await this.request({ action: "answer", description: { type: "answer", sdp: pc.localDescription.sdp } });
    pc.sentDescription = true;
    this.#flushCandidates(pc);
    this.offersAnswered += 1;
    this.subscribeFailures = 0;
    this.#armConnectTimer(pc, "subscribe");
    this.#changed();
  }

  /** Put each received track into the stream of its (peer, source); drop what ended. */
  #regroup() {
    const pc = this.subscribePc;
    const wanted = new Map();
    if (pc) {
      for (const transceiver of pc.getTransceivers()) {
        const info = transceiver.mid !== null ? this.tracksByMid[transceiver.mid] : null;
        const direction = transceiver.currentDirection;
        if (!info || transceiver.stopped || (direction !== "recvonly" && direction !== "sendrecv")) continue;
        const key = `${info.peer_id}:${info.source || "camera"}`;
        if (!wanted.has(key)) wanted.set(key, []);
        wanted.get(key).push(transceiver.receiver.track);
      }
    }
    for (const [key, stream] of this.streams) {
      const keep = wanted.get(key) || [];
      for (const track of stream.getTracks()) if (!keep.includes(track)) stream.removeTrack(track);
      if (!wanted.has(key)) this.streams.delete(key);
    }
    for (const [key, tracks] of wanted) {
      let stream = this.streams.get(key);
      if (!stream) {
        stream = new MediaStream();
        this.streams.set(key, stream);
      }
      const have = stream.getTracks();
      for (const track of tracks) if (!have.includes(track)) stream.addTrack(track);
    }
  }

  /** The stream of one remote peer's camera (audio + video) or screen, or null. */
  streamFor(peerId, source = "camera") {
    return this.streams.get(`${peerId}:${source}`) || null;
  }

  /** Whether media of `kind` ("audio", "video", or any when omitted) arrives from `peerId`. */
  receiving(peerId, kind) {
    if (!this.subscribePc || this.subscribePc.connectionState !== "connected") return false;
    const stream = this.streamFor(peerId, "camera");
    if (!stream) return false;
    return stream.getTracks().some((track) => (!kind || track.kind === kind) && !track.muted && track.readyState === "live");
  }

  /** The receiver of a peer's camera audio on the subscribe leg (for levels), or null. */
  audioTrack(peerId) {
    const stream = this.streamFor(peerId, "camera");
    return stream ? stream.getAudioTracks()[0] || null : null;
  }

  /** Peer ids whose tracks the subscription maps. */
  get remotePeers() {
    return new Set(Object.values(this.tracksByMid).map((info) => info.peer_id));
  }

  // ---------------------------------------------------------------------------------- both legs

  get publishState() {
    return this.publishPc ? this.publishPc.connectionState : "none";
  }

  get subscribeState() {
    return this.subscribePc ? this.subscribePc.connectionState : "none";
  }

  snapshot() {
    return {
      publish: this.publishState,
      subscribe: this.subscribeState,
      publishes: this.publishes,
      offersAnswered: this.offersAnswered,
      tracks: { ...this.tracksByMid },
      receiveVideo: this.receiveVideo,
      streams: [...this.streams.keys()],
      lastError: this.lastError,
    };
  }

  /** New ICE servers (fresh TURN credentials) for the legs we have and those we open next. */
  setIceServers(iceServers) {
    if (this.closed) return;
    this.iceServers = iceServers || this.iceServers;
    for (const pc of [this.publishPc, this.subscribePc]) {
      if (!pc || pc.signalingState === "closed") continue;
      try {
        pc.setConfiguration({ ...pc.getConfiguration(), iceServers: this.iceServers });
      } catch (error) {
        console.warn("junta: could not update ICE servers: %s", error);
      }
    }
  }

  /** After a rejoin: new TURN credentials; a leg that died meanwhile is replaced. */
  resume(iceServers) {
    if (this.closed) return;
    this.setIceServers(iceServers);
    // A server process that took us in anew does not know we asked for audio only.
    if (!this.receiveVideo) this.#tellReceive();
    if (this.canPublish && (!this.publishPc || ["failed", "closed"].includes(this.publishPc.connectionState))) {
      this.#openPublish(true);
    }
    if (this.subscribePc && ["failed", "closed"].includes(this.subscribePc.connectionState)) {
      this.#replace("subscribe");
    }
  }

  /**
   * Start or stop publishing: a lecture viewer promoted to speak opens its publish leg; demoted,
   * it closes it (the server has ended its tracks already).
   */
  setPublishing(on) {
    if (this.closed || on === this.canPublish) return;
    this.canPublish = on;
    clearTimeout(this.timers.get("publish:retry"));
    this.publishLimited = false;
    if (on) {
      this.publishFailures = 0;
      this.#openPublish(false);
      return;
    }
    if (this.publishPc) this.#closePc(this.publishPc, "publish");
    this.publishPc = null;
    this.audio = this.video = this.screen = null;
    this.#changed();
  }

  /**
   * The room moved to another media node (its node died): publish there at once, and drop the
   * subscription; the server's next offer (new ICE credentials) opens a fresh one.
   */
  moved() {
    if (this.closed) return;
    this.publishFailures = 0;
    this.subscribeFailures = 0;
    if (this.canPublish) this.#openPublish(true);
    if (this.subscribePc) this.#closePc(this.subscribePc, "subscribe");
    this.subscribePc = null;
    this.tracksByMid = {};
    this.#regroup();
    this.#changed();
  }

  /** Replace one leg by a new connection, as after a failure (support and tests). */
  restartLeg(leg) {
    if (leg === "publish" || leg === "subscribe") this.#replace(leg);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.publishPc) this.#closePc(this.publishPc, "publish");
    if (this.subscribePc) this.#closePc(this.subscribePc, "subscribe");
    this.publishPc = null;
    this.subscribePc = null;
    for (const stream of this.streams.values()) for (const track of stream.getTracks()) stream.removeTrack(track);
    this.streams.clear();
    this.#changed();
  }

  #closePc(pc, leg) {
    clearTimeout(this.timers.get(`${leg}:disconnected`));
    clearTimeout(this.timers.get(`${leg}:connect`));
    pc.onnegotiationneeded = null;
    pc.onicecandidate = null;
    pc.onconnectionstatechange = null;
    pc.close();
  }

  /** ICE candidates go to the server once the leg's description has been sent. */
  #trickle(pc, leg) {
    pc.pendingCandidates = [];
    pc.sentDescription = false;
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && !candidate.candidate) return; // end of one generation; null follows
      const init = candidate ? candidate.toJSON() : null;
      if (pc.sentDescription) this.#sendCandidate(leg, init);
      else pc.pendingCandidates.push(init);
    };
  }

  #flushCandidates(pc) {
    const leg = pc === this.publishPc ? "publish" : "subscribe";
    for (const init of pc.pendingCandidates.splice(0)) this.#sendCandidate(leg, init);
  }

  #sendCandidate(leg, candidate) {
    if (this.closed) return;
    this.request({ action: "candidate", leg, candidate }).catch((error) => {
      console.warn(`junta: SFU ${leg} candidate not delivered: ${describe(error)}`);
    });
  }

  #watchLeg(pc, leg) {
    pc.onconnectionstatechange = () => {
      const current = leg === "publish" ? this.publishPc : this.subscribePc;
      if (pc !== current || this.closed) return;
      const state = pc.connectionState;
      clearTimeout(this.timers.get(`${leg}:disconnected`));
      if (state === "connected") {
        clearTimeout(this.timers.get(`${leg}:connect`));
      } else if (state === "failed") {
        console.warn("junta: SFU %s connection failed, replacing it", leg);
        this.#replace(leg);
      } else if (state === "disconnected") {
        this.timers.set(`${leg}:disconnected`, setTimeout(() => {
          if (pc === (leg === "publish" ? this.publishPc : this.subscribePc) && pc.connectionState === "disconnected") {
            console.warn("junta: SFU %s connection lost, replacing it", leg);
            this.#replace(leg);
          }
        }, DISCONNECTED_GRACE_MS));
      }
      this.#changed();
    };
  }

  /** A negotiated leg that does not connect in time is replaced (see CONNECT_PATIENCE). */
  #armConnectTimer(pc, leg, extensions = 0) {
    if (pc.connectionState === "connected") return;
    clearTimeout(this.timers.get(`${leg}:connect`));
    this.timers.set(`${leg}:connect`, setTimeout(() => {
      const current = leg === "publish" ? this.publishPc : this.subscribePc;
      if (pc !== current || this.closed || !["new", "connecting"].includes(pc.connectionState)) return;
      // ICE pairs being checked or found, or DTLS under way: progress, not a dead leg.
      const progressing = pc.connectionState === "connecting" && ["checking", "connected", "completed"].includes(pc.iceConnectionState);
      if (progressing && extensions < CONNECT_PATIENCE) {
        console.info("junta: SFU %s connection still connecting (ICE %s), waiting longer", leg, pc.iceConnectionState);
        this.#armConnectTimer(pc, leg, extensions + 1);
        return;
      }
      console.warn("junta: SFU %s connection did not connect, replacing it", leg);
      this.#replace(leg);
    }, CONNECT_TIMEOUT_MS));
  }

  /** Close a leg and open a new one: a new publish offer, or a request for a new subscription. */
  #replace(leg) {
    if (this.closed) return;
    if (leg === "publish") {
      if (this.canPublish) this.#openPublish(true);
      return;
    }
    const pc = this.subscribePc;
    if (pc) this.#closePc(pc, "subscribe");
    this.subscribePc = null;
    this.tracksByMid = {};
    this.#regroup();
    this.#changed();
    this.request({ action: "resubscribe" }).catch((error) => {
      this.lastError = describe(error);
      console.warn(`junta: SFU resubscribe failed: ${describe(error)}`);
      this.#retry("subscribe", error);
    });
  }

  /** Try a failed leg again later, backing off. */
  #retry(leg, error) {
    if (this.closed) return;
    // `not_sfu`: the room is not on the SFU (any more); the `mode` event decides what follows.
    if (error && ["not_sfu", "forbidden", "closed"].includes(error.code)) return;
    const failures = leg === "publish" ? ++this.publishFailures : ++this.subscribeFailures;
    if (failures === 1) this.dispatchEvent(new CustomEvent("trouble", { detail: { leg, code: describe(error) } }));
    const delay = Math.min(RETRY_MIN_MS * 2 ** (failures - 1), RETRY_MAX_MS);
    clearTimeout(this.timers.get(`${leg}:retry`));
    this.timers.set(`${leg}:retry`, setTimeout(() => this.#replace(leg), delay));
  }

  #changed() {
    this.dispatchEvent(new Event("change"));
  }
}
