// The shared timeline of a recording's tracks: where each element must be at a given moment.
// Pure (no DOM), so the rule is the same for every element and easy to reason about.

// How far (seconds) an element may drift from the timeline before it is corrected by a seek;
// small drifts are left alone because every seek makes the element stall briefly.
export const DRIFT_TOLERANCE = 0.25;

/**
 * Where a track should be at timeline position `t`.
 * @param {number} t seconds from the recording's start
 * @param {{offset: number, duration: number}} track
 * @returns {{active: boolean, position: number}} active: the track has media at `t`;
 *   position: the element's currentTime (clamped to the track)
 */
export function trackPosition(t, track) {
  const local = t - track.offset;
  if (local < 0) return { active: false, position: 0 };
  if (local >= track.duration) return { active: false, position: track.duration };
  return { active: true, position: local };
}

/** True if an element at `current` must be moved to `wanted`. */
export function needsSeek(current, wanted) {
  return Math.abs(current - wanted) > DRIFT_TOLERANCE;
}

/** `m:ss` or `h:mm:ss`. */
export function formatTime(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
