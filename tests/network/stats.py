"""What a call page's connections say about their network path, from `getStats()`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The selected candidate pair of one of the page's connections: a P2P connection to a peer
# (`which` is its peer_id) or an SFU leg ("publish" or "subscribe"); null while there is none.
SELECTED_PAIR = """async (which) => {
  const junta = window.junta;
  const pc = which === "publish" ? junta.sfu && junta.sfu.publishPc
    : which === "subscribe" ? junta.sfu && junta.sfu.subscribePc
    : junta.mediaPc(which);
  if (!pc) return null;
  const stats = await pc.getStats();
  for (const transport of stats.values()) {
    if (transport.type !== "transport" || !transport.selectedCandidatePairId) continue;
    const pair = stats.get(transport.selectedCandidatePairId);
    const local = pair && stats.get(pair.localCandidateId);
    const remote = pair && stats.get(pair.remoteCandidateId);
    if (!local || !remote) continue;
    return {
      state: pair.state, bytesReceived: pair.bytesReceived || 0,
      local: local.candidateType, protocol: local.protocol,
      relayProtocol: local.relayProtocol || null, url: local.url || null,
      localAddress: local.address, remote: remote.candidateType, remoteAddress: remote.address,
    };
  }
  return null;
}"""


# The relay protocols (udp, tcp, tls) of the relayed candidates one connection gathered.
RELAY_PROTOCOLS = """async (which) => {
  const junta = window.junta;
  const pc = which === "publish" ? junta.sfu && junta.sfu.publishPc
    : which === "subscribe" ? junta.sfu && junta.sfu.subscribePc
    : junta.mediaPc(which);
  const found = [];
  if (!pc) return found;
  for (const s of (await pc.getStats()).values()) {
    if (s.type === "local-candidate" && s.candidateType === "relay") found.push(s.relayProtocol);
  }
  return found;
}"""


@dataclass(frozen=True)
class CandidatePair:
    """The pair carrying a connection's media: the local candidate's type (`relay`, `host`,
    `srflx`, `prflx`) and, for a relay, how the page reaches its TURN server (udp, tcp, tls)."""

    state: str
    local: str
    relay_protocol: str | None
    remote: str
    local_address: str
    remote_address: str
    bytes_received: int


def selected_pair(page: Any, which: str) -> CandidatePair | None:
    found = page.evaluate(SELECTED_PAIR, which)
    if not found:
        return None
    return CandidatePair(
        state=found["state"],
        local=found["local"],
        relay_protocol=found["relayProtocol"],
        remote=found["remote"],
        local_address=found["localAddress"],
        remote_address=found["remoteAddress"],
        bytes_received=int(found["bytesReceived"]),
    )


def relay_protocols(page: Any, which: str) -> set[str]:
    """How the connection `which` reached its TURN server, one entry per relay it gathered."""
    return set(page.evaluate(RELAY_PROTOCOLS, which))
