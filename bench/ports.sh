#!/usr/bin/env bash
# bench/ports.sh: host -> container through a port published on 127.0.0.1, Berth's nftables DNAT against
# Docker 20.10's docker-proxy, with a byte count check per transfer: `bench/network.sh ports` (see there).
exec "$(dirname "$0")/network.sh" ports "$@"
