// One RTCPeerConnection to one remote peer, negotiated with the W3C "perfect negotiation"
// pattern (the polite side is the peer whose peer_id sorts lower).
//
// Camera and microphone share one sendrecv transceiver per kind. The peer that was already in the
// room (it learns of the other through `peer-joined`) creates them and offers; the joiner puts its
// own tracks on the transceivers that offer creates and answers. One round trip, and no offer
// glare when a call starts (Chromium can lose its ICE candidates after rolling back a first offer).
// Later changes (screen share, ICE restarts, audio only) may come from either side; glare is then
// resolved by the polite side rolling back. Audio only turns our side of every video m-line to
// not receiving (camera sendrecv → sendonly, their screen → inactive): the renegotiation's
// answer tells their browser to stop sending video. A screen share gets its own sendonly transceiver, so turning
// the camera off or on is a replaceTrack() that needs no renegotiation.

const ICE_DISCONNECTED_GRACE_MS = 3000;
// A joiner that gets no offer in this time offers itself (the other side may have missed us).
const OFFER_WAIT_MS = 4000;
// ICE still "new" this long after a completed negotiation means no candidates flowed: restart.
const ICE_STALL_MS = 3000;

export class PeerLink extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.localId our peer_id
   * @param {string} options.remoteId their peer_id
   * @param {boolean} options.initiator true when we create the camera transceivers and offer first
   * @param {RTCIceServer[]} options.iceServers from the join ack (or `admitted`)
   * @param {() => Promise<RTCIceServer[]>|null} [options.freshIce] before ICE gathers (our first
   *        description, an ICE restart): null when the current servers will do, else a promise
   *        of fresh ones (TURN credentials about to expire)
   * @param {(message: object) => Promise<unknown>} options.send sends `signal` {to, description|candidate}
   * @param {() => {camera: MediaStream, audioTrack: MediaStreamTrack|null,
   *          videoTrack: MediaStreamTrack|null, screen: MediaStream|null}} options.localMedia
   *        what we send right now
   * @param {boolean} [options.receiveVideo] false: audio only, receive no video from this peer
   */
  constructor({ localId, remoteId, initiator, iceServers, freshIce = () => null, send, localMedia, receiveVideo = true }) {
    super();
    this.receiveVideo = receiveVideo;
    this.freshIce = freshIce;
    this.remoteId = remoteId;
    this.polite = localId < remoteId;
    this.initiator = initiator;
    this.send = send;
    this.localMedia = localMedia;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.closed = false;
    this.iceRestarts = 0;
    this.timers = { disconnected: 0, offerWait: 0, stall: 0 };
    this.inbox = Promise.resolve();
    /** Remote streams by MediaStream id (their camera, their screen). */
    this.remoteStreams = new Map();
    this.remoteCameraStreamId = null;
    this.audio = null;
    this.video = null;
    this.screen = null;
    this.pendingScreen = null;

    this.pc = new RTCPeerConnection({ iceServers: iceServers || [], bundlePolicy: "max-bundle" });
    this.pc.onnegotiationneeded = () => this.#negotiate();
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.#send({ candidate: candidate.toJSON() });
    };
    this.pc.oniceconnectionstatechange = () => this.#watchIce();
    this.pc.onconnectionstatechange = () => this.#changed();
    this.pc.onsignalingstatechange = () => this.#watchStall();
    this.pc.ontrack = (event) => this.#onTrack(event);

    if (initiator) {
      this.#createCameraTransceivers();
    } else {
      this.timers.offerWait = setTimeout(() => {
        if (!this.closed && !this.audio) this.#createCameraTransceivers();
      }, OFFER_WAIT_MS);
    }
    const { screen } = localMedia();
    if (screen) this.setScreen(screen);
  }

  /** Process one `signal` from the remote peer, strictly in arrival order. */
  receive(message) {
    this.inbox = this.inbox.then(() => this.#handle(message)).catch((error) => {
      console.warn("junta: signal from %s failed: %s", this.remoteId, error);
    });
    return this.inbox;
  }

  /** Send another camera or microphone track (or null), without renegotiating. */
  async replaceTrack(kind, track) {
    const transceiver = kind === "audio" ? this.audio : this.video;
    // Before the camera transceivers exist, adoption picks up the current tracks.
    if (transceiver) await transceiver.sender.replaceTrack(track);
  }

  /** Start (or switch) sending a screen-share stream; null stops it (renegotiates either way). */
  setScreen(stream) {
    if (this.closed) return;
    if (!this.audio) {
      // Not before the camera: its m-lines come first, from the initiator's offer.
      this.pendingScreen = stream;
      return;
    }
    const track = stream ? stream.getVideoTracks()[0] : null;
    // Each share gets a fresh transceiver and a stopped one frees its m-line: the receiver's
    // track ends with the share, and a new share arrives as a new track in a new stream.
    if (this.screen) {
      this.screen.stop();
      this.screen = null;
    }
    if (track) this.screen = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
  }

  /** New TURN credentials (a rejoin, or fresh ones before the old expire): the next ICE
   * gathering (an ICE restart) allocates its relay with them. */
  updateIceServers(iceServers) {
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: iceServers || [] });
    } catch (error) {
      console.warn("junta: could not update ICE servers: %s", error);
    }
  }

  /** Receive video from this peer again (true), or stop (false: audio only); renegotiates. */
  setReceiveVideo(on) {
    if (this.receiveVideo === on) return;
    this.receiveVideo = on;
    this.#applyVideoDirections();
  }

  /** Our camera's video m-line receives only when we want video; theirs (a screen) likewise. */
  #applyVideoDirections() {
    if (this.closed) return;
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver === this.screen || transceiver.currentDirection === "stopped" || transceiver.direction === "stopped") continue;
      if (transceiver.receiver.track.kind !== "video") continue;
      const wanted = transceiver === this.video
        ? this.receiveVideo ? "sendrecv" : "sendonly"
        : this.receiveVideo ? "recvonly" : "inactive";
      // A change fires negotiationneeded; the offer carries it to the peer.
      if (transceiver.direction !== wanted) transceiver.direction = wanted;
    }
  }

  restartIce() {
    if (this.closed) return;
    this.iceRestarts += 1;
    this.pc.restartIce();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    this.pc.close();
    this.#changed();
  }

  /** The remote camera stream (audio and camera video), if any. */
  get cameraStream() {
    return this.remoteCameraStreamId ? this.remoteStreams.get(this.remoteCameraStreamId) || null : null;
  }

  streamById(id) {
    return (id && this.remoteStreams.get(id)) || null;
  }

  get connectionState() {
    return this.closed ? "closed" : this.pc.connectionState;
  }

  async #negotiate() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      // An offer that arrived meanwhile is answered instead (#handle); negotiationneeded fires
      // again once stable if ours is still needed.
      if (!(await this.#withFreshIce()) || this.pc.signalingState !== "stable") return;
      await this.pc.setLocalDescription();
      await this.#send({ description: this.pc.localDescription.toJSON() });
    } catch (error) {
      console.warn("junta: offer to %s failed: %s", this.remoteId, error);
    } finally {
      this.makingOffer = false;
    }
  }

  async #handle({ description, candidate }) {
    if (this.closed) return;
    if (description) {
      if (description.type === "rollback") return;
      const readyForOffer =
        !this.makingOffer && (this.pc.signalingState === "stable" || this.settingRemoteAnswer);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && offerCollision;
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = description.type === "answer";
      try {
        await this.pc.setRemoteDescription(description); // rolls back our offer if needed
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (description.type === "offer") {
        if (!this.audio) await this.#adoptCameraTransceivers();
        if (!(await this.#withFreshIce())) return;
        await this.pc.setLocalDescription();
        await this.#send({ description: this.pc.localDescription.toJSON() });
        if (this.pendingScreen) {
          const screen = this.pendingScreen;
          this.pendingScreen = null;
          this.setScreen(screen);
        }
        // A video m-line the offer added (their screen) was answered receiving: not in audio only.
        if (!this.receiveVideo) this.#applyVideoDirections();
      }
    } else if (candidate) {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  /**
   * Before a description that may gather ICE candidates: expired TURN credentials would get no
   * relay. Waits only when they are about to expire; false if the connection closed meanwhile.
   */
  async #withFreshIce() {
    const pending = this.freshIce();
    if (!pending) return true;
    const servers = await pending;
    if (this.closed) return false;
    this.updateIceServers(servers);
    return true;
  }

  #createCameraTransceivers() {
    clearTimeout(this.timers.offerWait);
    const { camera, audioTrack, videoTrack } = this.localMedia();
    this.audio = this.pc.addTransceiver(audioTrack || "audio", { direction: "sendrecv", streams: [camera] });
    this.video = this.pc.addTransceiver(videoTrack || "video", { direction: this.receiveVideo ? "sendrecv" : "sendonly", streams: [camera] });
    if (this.pendingScreen) {
      const screen = this.pendingScreen;
      this.pendingScreen = null;
      this.setScreen(screen);
    }
  }

  /** Joiner side: send our camera and microphone on the transceivers the first offer created. */
  async #adoptCameraTransceivers() {
    clearTimeout(this.timers.offerWait);
    const { camera, audioTrack, videoTrack } = this.localMedia();
    const offered = this.pc.getTransceivers().filter((t) => t !== this.screen && t.direction !== "stopped");
    const audio = offered.find((t) => t.receiver.track.kind === "audio");
    const video = offered.find((t) => t.receiver.track.kind === "video");
    for (const [transceiver, track] of [[audio, audioTrack], [video, videoTrack]]) {
      if (!transceiver) continue;
      transceiver.direction = transceiver === video && !this.receiveVideo ? "sendonly" : "sendrecv";
      transceiver.sender.setStreams(camera);
      await transceiver.sender.replaceTrack(track);
    }
    this.audio = audio || null;
    this.video = video || null;
  }

  #send(message) {
    return this.send({ to: this.remoteId, ...message }).catch((error) => {
      console.warn("junta: signal to %s not delivered: %s", this.remoteId, error.code || error);
    });
  }

  #onTrack({ track, streams }) {
    const stream = streams[0] || new MediaStream([track]);
    this.remoteStreams.set(stream.id, stream);
    // The camera stream is the one carrying the microphone: screen shares have no audio here.
    if (track.kind === "audio") this.remoteCameraStreamId = stream.id;
    stream.onremovetrack = () => {
      if (stream.getTracks().length === 0 && stream.id !== this.remoteCameraStreamId) {
        this.remoteStreams.delete(stream.id);
      }
      this.#changed();
    };
    track.onunmute = () => this.#changed();
    this.#changed();
  }

  #watchStall() {
    clearTimeout(this.timers.stall);
    if (this.pc.signalingState !== "stable" || !this.pc.remoteDescription) return;
    this.timers.stall = setTimeout(() => {
      if (!this.closed && this.pc.iceConnectionState === "new" && this.pc.signalingState === "stable") {
        console.warn("junta: no ICE progress with %s, restarting ICE", this.remoteId);
        this.restartIce();
      }
    }, ICE_STALL_MS);
  }

  #watchIce() {
    const state = this.pc.iceConnectionState;
    clearTimeout(this.timers.disconnected);
    if (state === "failed") {
      this.restartIce();
    } else if (state === "disconnected") {
      this.timers.disconnected = setTimeout(() => {
        if (!this.closed && this.pc.iceConnectionState === "disconnected") this.restartIce();
      }, ICE_DISCONNECTED_GRACE_MS);
    }
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new Event("change"));
  }
}
