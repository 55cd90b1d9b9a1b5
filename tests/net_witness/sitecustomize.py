"""A network witness for subprocesses: every connect() and name lookup, appended to NET_WITNESS_LOG.

Put this directory on PYTHONPATH of a process under test; Python imports
`sitecustomize` at start-up, before any of the program's code. The test then
reads the log and asserts where the process went — including everything the
framework does on its own (registration, Almanac lookups, telemetry).
"""

import os
import socket

_LOG = os.environ.get("NET_WITNESS_LOG")

if _LOG:
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex
    _getaddrinfo = socket.getaddrinfo

    def _note(line: str) -> None:
        with open(_LOG, "a") as log:
            log.write(line + "\n")

    def _describe(sock: socket.socket, address: object) -> str:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            return f"connect {address[0]} {address[1]}"
        return f"connect-local {sock.family.name}"

    def connect(self: socket.socket, address: object) -> None:
        _note(_describe(self, address))
        return _connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        _note(_describe(self, address))
        return _connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        _note(f"resolve {host}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo
