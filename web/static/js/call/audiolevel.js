// The level of one microphone track, read from a WebAudio AnalyserNode when asked: the plumbing
// shared by the pre-join level meter (devices.js) and the speaking detector (speaker.js), which
// differ only in how often they read it and what they make of it.

/** One audio track's level in dBFS; the AudioContext is kept across tracks until close(). */
export class AudioLevel {
  /** `fftSize` sets how many samples each reading covers; `smoothing` the analyser's averaging. */
  constructor({ fftSize, smoothing } = {}) {
    this.fftSize = fftSize;
    this.smoothing = smoothing;
    this.context = null;
    this.source = null;
    this.analyser = null;
    this.samples = null;
  }

  /** Measure `track` from now on; false when there is nothing to measure (no track, no WebAudio). */
  attach(track) {
    this.detach();
    if (!track || typeof AudioContext === "undefined") return false;
    this.context = this.context || new AudioContext();
    // Autoplay rules may start the context suspended until the user touches the page.
    if (this.context.state === "suspended") {
      const resume = () => this.context && this.context.resume();
      resume();
      document.addEventListener("pointerdown", resume, { once: true });
      document.addEventListener("keydown", resume, { once: true });
    }
    this.source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = this.fftSize;
    if (this.smoothing !== undefined) this.analyser.smoothingTimeConstant = this.smoothing;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
    return true;
  }

  /** The level now: RMS of the latest samples in dBFS (very low, never -Infinity, in silence). */
  db() {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const value of this.samples) sum += value * value;
    return 20 * Math.log10(Math.sqrt(sum / this.samples.length) || 1e-8);
  }

  /** Stop measuring the current track (the context stays for the next one). */
  detach() {
    if (this.source) this.source.disconnect();
    this.source = null;
    this.analyser = null;
  }

  close() {
    this.detach();
    if (this.context) this.context.close();
    this.context = null;
  }
}
