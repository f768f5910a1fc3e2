"""`LedgerRecorder`: signaling's `RecordingPort` on a real media node's recorder, with the
record of recordings kept in lists instead of the casebook (signaling must not need a database).
`web.calls.recording_bridge.RecordingBridge` is the product's implementation; tests/web covers
it."""

from __future__ import annotations

from dataclasses import dataclass, field

from media.recording import RecordingManifest
from signaling.media_port import MediaRefused
from signaling.recording import ConsentAnswer, RecordingRefused
from web.calls.media_bridge import MediaBridge

NOTICE_VERSION = "test-1"
LOCALES = frozenset({"es-MX", "en"})


@dataclass
class LedgerRecorder:
    """Every call the server made, in order; `media` None makes every recorder call fail."""

    media: MediaBridge | None
    calls: list[tuple[str, ...]] = field(default_factory=list)
    consents: list[ConsentAnswer] = field(default_factory=list)
    manifests: list[RecordingManifest] = field(default_factory=list)
    stopped_with: list[dict[str, str]] = field(default_factory=list)

    @property
    def notice_version(self) -> str:
        return NOTICE_VERSION

    def knows_locale(self, locale: str) -> bool:
        return locale in LOCALES

    def _node(self) -> MediaBridge:
        if self.media is None:
            raise RecordingRefused("recording_unavailable", "no media node")
        return self.media

    async def start(
        self, room: str, recording_id: str, *, started_by_user_id: str, excluded: frozenset[str]
    ) -> None:
        self.calls.append(("start", room, recording_id, started_by_user_id, *sorted(excluded)))
        try:
            await self._node().start_recording(room, recording_id, excluded)
        except MediaRefused as exc:
            raise RecordingRefused(exc.code, exc.message) from None

    async def consent(self, room: str, answer: ConsentAnswer) -> None:
        self.calls.append(("consent", room, answer.peer_id, str(answer.granted)))
        self.consents.append(answer)
        await self.set_excluded(room, answer.peer_id, not answer.granted)

    async def set_excluded(self, room: str, peer_id: str, excluded: bool) -> None:
        self.calls.append(("exclude" if excluded else "include", room, peer_id))
        try:
            await self._node().set_recording_excluded(room, peer_id, excluded)
        except MediaRefused as exc:
            raise RecordingRefused(exc.code, exc.message) from None

    async def stop(self, room: str, participants: dict[str, str]) -> None:
        self.calls.append(("stop", room))
        try:
            self.manifests.append(await self._node().stop_recording(room))
        except MediaRefused as exc:
            raise RecordingRefused(exc.code, exc.message) from None
        self.stopped_with.append(participants)
