"""Size-prefixed frame reassembly over a reusable receive buffer (sans-IO).

The transport asks for a writable view (`writable`), reports how much it filled (`filled`), and gets back
every complete frame. A frame larger than the cap is refused before any of it is buffered.
"""

from __future__ import annotations

import struct

_SIZE = struct.Struct(">i")
_INITIAL_CAPACITY = 64 * 1024


class FrameTooLarge(ValueError):
    pass


class FrameDecoder:
    __slots__ = ("_buf", "_end", "_start", "max_frame_size")

    def __init__(self, max_frame_size: int) -> None:
        self._buf = bytearray(_INITIAL_CAPACITY)
        self._start = 0
        self._end = 0
        self.max_frame_size = max_frame_size

    def writable(self) -> memoryview:
        if self._end == len(self._buf):
            self._make_room(self._end - self._start + 1)
        return memoryview(self._buf)[self._end :]

    def _make_room(self, needed: int) -> None:
        # The transport may still hold a view of the old buffer, so never resize it in place:
        # move the pending bytes into a fresh buffer instead.
        pending = self._end - self._start
        fresh = bytearray(max(needed, len(self._buf)))
        fresh[:pending] = self._buf[self._start : self._end]
        self._buf = fresh
        self._start, self._end = 0, pending

    def filled(self, count: int) -> list[bytes | memoryview]:
        """Every frame completed by `count` more bytes: small ones copied out, a large one as a view
        of the buffer made for it, which is then left to it."""
        self._end += count
        frames = []
        buf = self._buf
        while self._end - self._start >= 4:
            (size,) = _SIZE.unpack_from(buf, self._start)
            if size < 0 or size > self.max_frame_size:
                raise FrameTooLarge(
                    f"frame of {size} bytes exceeds socket.request.max.bytes={self.max_frame_size}"
                )
            frame_end = self._start + 4 + size
            if frame_end > self._end:
                if frame_end > len(buf):
                    self._make_room(4 + size)
                break
            if self._start == 0 and frame_end == len(buf) > _INITIAL_CAPACITY:
                # `_make_room` sized this buffer for this frame alone: hand it over rather than
                # copy a megabyte, and receive what follows into a fresh buffer.
                frames.append(memoryview(buf)[4:frame_end])
                self._buf = buf = bytearray(_INITIAL_CAPACITY)
                self._start = self._end = 0
                continue
            # Through a memoryview: slicing the bytearray itself would copy the frame twice.
            frames.append(bytes(memoryview(buf)[self._start + 4 : frame_end]))
            self._start = frame_end
        if self._start == self._end:
            self._start = self._end = 0
            if len(buf) > _INITIAL_CAPACITY:
                # Give back what one large request made the buffer grow to.
                self._buf = bytearray(_INITIAL_CAPACITY)
        return frames

    @property
    def buffered(self) -> int:
        return self._end - self._start
