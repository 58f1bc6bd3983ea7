"""What Lambda passes the handler: a request id and the time left of the invocation's timeout."""

from __future__ import annotations

import time


class LambdaContext:
    """The two things the handler reads of Lambda's context object."""

    def __init__(self, remaining_s: float, request_id: str = "req-1") -> None:
        self.aws_request_id = request_id
        self._end = time.monotonic() + remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)
