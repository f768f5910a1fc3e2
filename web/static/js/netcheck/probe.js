// Trying one path of the network check in the browser: a connection that gathers ICE
// candidates with one STUN or TURN server only, and what came of it. No DOM.

const DEADLINE_MS = 10000;

/**
 * Try `path` (verdict.js `pathsOf`): resolves `{ok, candidate: {type, protocol} | null, error}`.
 * A TURN path works when a relay candidate comes (the server allocated a relay: reached, and
 * the credentials accepted); only relays are gathered for it. A STUN path works when a
 * server-reflexive candidate comes, or when gathering ends without an error from the server
 * (Chromium leaves out a reflexive candidate equal to a host one: no NAT in between).
 */
export function probe(path, { deadlineMs = DEADLINE_MS } = {}) {
  const server = { urls: [path.url] };
  if (path.username) Object.assign(server, { username: path.username, credential: path.credential });
  const pc = new RTCPeerConnection({
    iceServers: [server],
    iceTransportPolicy: path.kind === "stun" ? "all" : "relay",
  });
  const wanted = path.kind === "stun" ? "srflx" : "relay";
  return new Promise((resolve) => {
    let error = null;
    let settled = false;
    const finish = (ok, candidate = null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pc.close();
      resolve({ ok, candidate, error });
    };
    const timer = setTimeout(() => finish(false), deadlineMs);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.type === wanted) {
        const protocol = candidate.type === "relay" ? relayProtocol(path) : candidate.protocol;
        finish(true, { type: candidate.type, protocol });
      }
    };
    pc.onicecandidateerror = (event) => {
      error = { code: event.errorCode, text: event.errorText || "" };
    };
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === "complete") finish(path.kind === "stun" && error === null);
    };
    pc.createDataChannel("network-check");
    pc.createOffer().then((offer) => pc.setLocalDescription(offer)).catch((failure) => {
      error = { code: 0, text: String(failure) };
      finish(false);
    });
  });
}

/** How the browser reaches the TURN server on this path (what the page says of the relay). */
function relayProtocol(path) {
  return { "turn-udp": "udp", "turn-tcp": "tcp", "turn-tls": "tls" }[path.kind];
}
