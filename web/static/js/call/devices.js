// Local capture devices: camera and microphone tracks, device lists, the speaker choice and the
// microphone level meter used by the pre-join screen.

import { AudioLevel } from "./audiolevel.js";

const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Why a device could not be opened, as a stable code the UI translates. */
export function deviceErrorCode(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "missing";
    case "NotReadableError":
    case "AbortError":
      return "busy";
    default:
      return "failed";
  }
}

export function canChooseSpeaker() {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

/**
 * What this page captures. `stream` is the one camera MediaStream we announce to peers; its tracks
 * are swapped as devices change or the camera is turned off (the track is stopped so the camera
 * light goes off) and on again.
 */
export class LocalMedia extends EventTarget {
  constructor() {
    super();
    this.stream = new MediaStream();
    this.audioTrack = null;
    this.videoTrack = null;
    this.microphoneId = "";
    this.cameraId = "";
    this.speakerId = "";
    this.audioEnabled = true;
    this.videoEnabled = true;
    this.errors = { audio: null, video: null };
  }

  /** Open camera and microphone; a failure of one does not prevent the other. */
  async open() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.errors = { audio: "unsupported", video: "unsupported" };
      return this.errors;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: this.#audioConstraints(),
        video: this.#videoConstraints(),
      });
      this.#adopt(stream.getAudioTracks()[0] || null, "audio");
      this.#adopt(stream.getVideoTracks()[0] || null, "video");
      this.errors = { audio: null, video: null };
    } catch (error) {
      // One device may be missing or busy: try each on its own to tell the user which.
      this.errors.audio = await this.#openKind("audio");
      this.errors.video = await this.#openKind("video");
      if (deviceErrorCode(error) === "denied" && this.errors.audio && this.errors.video) {
        this.errors = { audio: "denied", video: "denied" };
      }
    }
    if (this.errors.audio) this.audioEnabled = false;
    if (this.errors.video) this.videoEnabled = false;
    this.#changed();
    return this.errors;
  }

  async listDevices() {
    const devices = navigator.mediaDevices ? await navigator.mediaDevices.enumerateDevices() : [];
    const pick = (kind) => devices.filter((d) => d.kind === kind && d.deviceId);
    return {
      cameras: pick("videoinput"),
      microphones: pick("audioinput"),
      speakers: canChooseSpeaker() ? pick("audiooutput") : [],
    };
  }

  async useMicrophone(deviceId) {
    this.microphoneId = deviceId;
    this.errors.audio = await this.#openKind("audio");
    this.#changed();
  }

  async useCamera(deviceId) {
    this.cameraId = deviceId;
    if (!this.videoEnabled) return this.#changed();
    this.errors.video = await this.#openKind("video");
    this.#changed();
  }

  /** Mute keeps the microphone open (instant unmute) and sends silence. */
  setAudioEnabled(on) {
    this.audioEnabled = Boolean(on) && Boolean(this.audioTrack);
    if (this.audioTrack) this.audioTrack.enabled = this.audioEnabled;
    this.#changed();
    return this.audioEnabled;
  }

  /** Camera off releases the camera; camera on opens it again. */
  async setVideoEnabled(on) {
    if (!on) {
      this.videoEnabled = false;
      this.#adopt(null, "video");
      this.#changed();
      return false;
    }
    this.errors.video = await this.#openKind("video");
    this.videoEnabled = !this.errors.video;
    this.#changed();
    return this.videoEnabled;
  }

  stop() {
    for (const track of this.stream.getTracks()) track.stop();
    this.audioTrack = null;
    this.videoTrack = null;
  }

  async #openKind(kind) {
    try {
      const constraints =
        kind === "audio" ? { audio: this.#audioConstraints() } : { video: this.#videoConstraints() };
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const track = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      this.#adopt(track, kind);
      return null;
    } catch (error) {
      return deviceErrorCode(error);
    }
  }

  #adopt(track, kind) {
    const old = kind === "audio" ? this.audioTrack : this.videoTrack;
    if (old && old !== track) {
      this.stream.removeTrack(old);
      old.stop();
    }
    if (track) {
      if (kind === "audio") track.enabled = this.audioEnabled;
      this.stream.addTrack(track);
      const settings = track.getSettings();
      if (kind === "audio") this.microphoneId = settings.deviceId || this.microphoneId;
      else this.cameraId = settings.deviceId || this.cameraId;
      track.addEventListener("ended", () => this.#changed());
    }
    if (kind === "audio") this.audioTrack = track;
    else this.videoTrack = track;
    this.dispatchEvent(new CustomEvent("track", { detail: { kind, track } }));
  }

  #audioConstraints() {
    return this.microphoneId
      ? { ...AUDIO_CONSTRAINTS, deviceId: { exact: this.microphoneId } }
      : AUDIO_CONSTRAINTS;
  }

  #videoConstraints() {
    return this.cameraId ? { ...VIDEO_CONSTRAINTS, deviceId: { exact: this.cameraId } } : VIDEO_CONSTRAINTS;
  }

  #changed() {
    this.dispatchEvent(new Event("change"));
  }
}

/** Live microphone level (0..1) from a WebAudio AnalyserNode, reported once per animation frame. */
export class LevelMeter {
  constructor(onLevel) {
    this.onLevel = onLevel;
    this.level = new AudioLevel({ fftSize: 512, smoothing: 0.6 });
    this.frame = 0;
  }

  attach(track) {
    this.detach();
    if (!this.level.attach(track)) return this.onLevel(0);
    const tick = () => {
      // Speech sits around -40..-10 dBFS: map that range onto the meter.
      const db = this.level.db();
      this.onLevel(track.enabled ? Math.min(1, Math.max(0, (db + 60) / 50)) : 0);
      this.frame = requestAnimationFrame(tick);
    };
    tick();
  }

  detach() {
    cancelAnimationFrame(this.frame);
    this.level.detach();
  }

  close() {
    this.detach();
    this.level.close();
  }
}
