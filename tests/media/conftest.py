"""Fixtures shared by the media tests: counters of the codec work aiortc does in this process."""

from __future__ import annotations

import threading
from typing import Any

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest
from aiortc import RTCPeerConnection


@pytest.fixture
def decoder_threads(monkeypatch: pytest.MonkeyPatch) -> set[threading.Thread]:
    """Threads in which aiortc created a decoder: it does so for the first frame it decodes."""
    threads: set[threading.Thread] = set()
    original = aiortc.rtcrtpreceiver.get_decoder

    def get_decoder(codec: Any) -> Any:
        threads.add(threading.current_thread())
        return original(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", get_decoder)
    return threads


def receiver_decoder_threads(pc: RTCPeerConnection) -> set[threading.Thread]:
    """The decoder threads of a peer connection's started receivers (a private aiortc name,
    pinned in test_aiortc_tap.py), to tell whose receiver a thread in `decoder_threads` is."""
    threads = (
        t.receiver._RTCRtpReceiver__decoder_thread  # type: ignore[attr-defined]
        for t in pc.getTransceivers()
    )
    return {thread for thread in threads if thread is not None}


@pytest.fixture
def encoders_created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Codec names for which any aiortc sender in this process created an encoder."""
    created: list[str] = []
    original = aiortc.rtcrtpsender.get_encoder

    def get_encoder(codec: Any) -> Any:
        created.append(codec.name)
        return original(codec)

    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", get_encoder)
    return created
