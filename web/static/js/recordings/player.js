// The recording player: every track (<video> and <audio>) of a recording on one timeline.
//
// The timeline runs on the page's clock while playing; each element is started, stopped and,
// when it drifts, moved so that it shows the moment `timeline - its start offset`. Seeking moves
// the timeline and every element with it. While an element that should be playing is still
// buffering, the clock stops and the others wait, so no track runs ahead of the rest.
// Data comes from data attributes: the CSP allows no inline script.
import { formatTime, needsSeek, trackPosition } from "./timeline.js";

const HAVE_FUTURE_DATA = 3;

function setup(player) {
  const length = Number(player.dataset.length) || 0;
  const button = player.querySelector('[data-action="toggle"]');
  const seek = player.querySelector('[data-action="seek"]');
  const clock = player.querySelector('[data-time="current"]');
  const tracks = Array.from(player.querySelectorAll(".recording-media")).map((element) => ({
    element,
    offset: Number(element.dataset.offset) || 0,
    duration: Number(element.dataset.duration) || 0,
  }));

  let playing = false;
  let position = 0; // timeline seconds when the clock last stopped or was rebased
  let runningSince = null; // performance.now() when the clock last started; null: stopped
  let dragging = false;
  const stalled = new Set(); // active elements still buffering

  const now = () =>
    runningSince === null ? position : position + (performance.now() - runningSince) / 1000;

  function stopClock() {
    if (runningSince !== null) {
      position = now();
      runningSince = null;
    }
  }

  function startClock() {
    if (runningSince === null && playing && stalled.size === 0) {
      runningSince = performance.now();
    }
  }

  function align(t) {
    const moving = playing && stalled.size === 0;
    for (const track of tracks) {
      const { active, position: wanted } = trackPosition(t, track);
      const media = track.element;
      if (needsSeek(media.currentTime, wanted)) media.currentTime = wanted;
      if (active && moving && media.paused) {
        media.play().catch(() => {}); // refused (no user gesture yet): the button plays it
      } else if ((!active || !moving) && !media.paused) {
        media.pause();
      }
    }
  }

  function show(t) {
    clock.textContent = formatTime(t);
    if (!dragging) seek.value = String(t);
    player.dataset.position = t.toFixed(3);
  }

  function tick() {
    if (!playing) return;
    const t = now();
    if (t >= length) {
      pause();
      moveTo(length);
      return;
    }
    align(t);
    show(t);
    requestAnimationFrame(tick);
  }

  function play() {
    if (playing) return;
    if (position >= length) position = 0;
    playing = true;
    button.textContent = player.dataset.labelPause;
    player.dataset.state = "playing";
    startClock();
    align(now());
    requestAnimationFrame(tick);
  }

  function pause() {
    if (!playing) return;
    stopClock();
    playing = false;
    button.textContent = player.dataset.labelPlay;
    player.dataset.state = "paused";
    align(position);
    show(position);
  }

  function moveTo(t) {
    stopClock();
    position = Math.max(0, Math.min(t, length));
    stalled.clear();
    align(position);
    startClock();
    show(position);
  }

  button.addEventListener("click", () => (playing ? pause() : play()));
  seek.addEventListener("input", () => {
    dragging = true;
    clock.textContent = formatTime(Number(seek.value));
  });
  seek.addEventListener("change", () => {
    dragging = false;
    moveTo(Number(seek.value));
  });
  for (const track of tracks) {
    const media = track.element;
    media.addEventListener("waiting", () => {
      if (!playing || !trackPosition(now(), track).active) return;
      stalled.add(media);
      stopClock();
      align(now());
    });
    const ready = () => {
      if (!stalled.has(media)) return;
      if (media.readyState < HAVE_FUTURE_DATA && media.error === null) return;
      stalled.delete(media);
      startClock();
      align(now());
    };
    for (const name of ["canplay", "canplaythrough", "playing", "seeked", "error"]) {
      media.addEventListener(name, ready);
    }
  }

  player.dataset.state = "paused";
  show(0);
  align(0);
  button.disabled = false;
  player.dataset.ready = "true";
}

const root = document.getElementById("player");
if (root) setup(root);
