// Active speaker: each page measures its own microphone (Web Audio AnalyserNode) and tells the
// room when it starts or stops speaking (`state {speaking}`), never a stream of levels. The room
// outlines the tiles of the peers whose state says they speak, in P2P and SFU mode alike, and
// without decoding anyone's audio level.

import { AudioLevel } from "./audiolevel.js";

// Speech sits around -40..-10 dBFS; background noise of a quiet room below -50.
const SPEECH_DB = -45;
// Sampled on a timer, not requestAnimationFrame: a page in a background tab still reports.
const SAMPLE_MS = 100;
// Two loud samples in a row start speaking (a click or a cough does not); silence ends it only
// after a pause, so the outline does not flicker between words.
const START_SAMPLES = 2;
const HOLD_MS = 900;
// At most one change reported in this interval; the latest state wins.
const MIN_REPORT_MS = 400;

/** Decides "speaking" from levels: hysteresis and a hold, no I/O (fed one sample at a time). */
export class SpeakingGate {
  constructor({ thresholdDb = SPEECH_DB, startSamples = START_SAMPLES, holdMs = HOLD_MS } = {}) {
    this.thresholdDb = thresholdDb;
    this.startSamples = startSamples;
    this.holdMs = holdMs;
    this.speaking = false;
    this.loud = 0;
    this.lastLoudAt = -Infinity;
  }

  /** One level sample (dBFS) at `now` ms; returns whether the speaker speaks now. */
  sample(db, now) {
    if (db >= this.thresholdDb) {
      this.loud += 1;
      this.lastLoudAt = now;
      if (this.loud >= this.startSamples) this.speaking = true;
    } else {
      this.loud = 0;
      if (this.speaking && now - this.lastLoudAt >= this.holdMs) this.speaking = false;
    }
    return this.speaking;
  }
}

/**
 * Measures one microphone track and calls `onChange(speaking)` when the speaking state changes,
 * throttled to one call per MIN_REPORT_MS (the last state is always delivered).
 */
export class SpeakingDetector {
  constructor(onChange) {
    this.onChange = onChange;
    this.level = new AudioLevel({ fftSize: 1024 });
    this.timer = 0;
    this.gate = new SpeakingGate();
    this.reported = false;
    this.lastReportAt = -Infinity;
    this.pending = 0;
  }

  attach(track) {
    this.detach();
    if (!this.level.attach(track)) return;
    this.timer = setInterval(() => {
      const db = this.level.db();
      // A muted microphone (track disabled) never speaks, whatever the device picks up.
      this.#report(this.gate.sample(track.enabled && track.readyState === "live" ? db : -Infinity, performance.now()));
    }, SAMPLE_MS);
  }

  #report(speaking) {
    if (speaking === this.reported) {
      clearTimeout(this.pending);
      this.pending = 0;
      return;
    }
    const wait = this.lastReportAt + MIN_REPORT_MS - performance.now();
    if (wait > 0) {
      if (!this.pending) {
        this.pending = setTimeout(() => {
          this.pending = 0;
          this.#report(this.gate.speaking);
        }, wait);
      }
      return;
    }
    this.reported = speaking;
    this.lastReportAt = performance.now();
    this.onChange(speaking);
  }

  detach() {
    clearInterval(this.timer);
    clearTimeout(this.pending);
    this.pending = 0;
    this.level.detach();
    this.gate = new SpeakingGate();
    if (this.reported) {
      this.reported = false;
      this.onChange(false);
    }
  }

  close() {
    this.detach();
    this.level.close();
  }
}

/** Outline the camera tiles of the people who say they speak (ourselves included). */
export function highlightSpeakers(stage, participants, selfId, selfSpeaking) {
  for (const [key, tile] of stage.tiles) {
    const [id, kind] = key.split(":");
    if (kind !== "camera") continue;
    const peer = participants.get(id === "self" ? selfId : id);
    const speaking = id === "self" ? selfSpeaking : Boolean(peer && peer.state.audio && peer.state.speaking);
    tile.node.classList.toggle("speaking", speaking);
  }
}
