"""Server-side media (aiortc): the selective forwarding unit and the recorder.

The SFU forwards encoded frames and never decodes to re-encode per viewer:
- `node.MediaNode`: the interface signaling calls (in process: `node.LocalMediaNode`; in a
  `junta media` process: `api` serves it over HTTP and `remote.RemoteMediaNode` calls it, with
  `wire` the JSON shapes and `settings` the process's `JUNTA_MEDIA_*` settings).
- `room.Room`: a room's publisher and subscriber peer connections.
- `published_track.PublishedTrack`: one published track fanned out to its subscribers.
- `forwarder.Forwarder`: the pure forwarding rules (keyframe gating, keyframe-request
  throttling, timestamp rebasing, pause/resume, slow-subscriber recovery).
- `aiortc_tap`: the only package touching aiortc internals (pinned to aiortc 1.16.0): the
  receiver tap (`receiver_tap`), `arrival.receive_rtp_on_arrival` (a publisher's RTP handled in
  the datagram callback, without a task wake-up per packet), the packetizers and sender hooks
  (`packetizer`, `sender`), and `direct_sender.DirectRtpSender`, which sends each subscriber's
  packets synchronously from the tap (payloads packetized once per track, shared by every
  subscriber) for its `forwarded_track.ForwardedTrack`.
- `srtp_protect` (pylibsrtp internals, pinned to 1.0.0), `udp_batch` (a frame's datagrams in
  one segmented send) and `vp8` (VP8 payloads): the rest of that send path.
- `rtp_stamper.RtpStamper`: the pure per-subscriber RTP part of that send path (headers,
  sequence numbers, header extensions, NACK history with RTX).
- `versions`: the exact aiortc and pylibsrtp releases those internals are pinned to.
- `codecs`, `keyframes`, `timestamps`, `frames`, `events`, `errors`: small helpers and types.
"""
