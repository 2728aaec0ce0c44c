#!/usr/bin/env bash
# Builds the solution and publishes the NativeAOT binaries into out/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C src/native
make -s -C src/monitor
dotnet build Berth.slnx -c Release -v quiet -nologo -clp:ErrorsOnly
dotnet publish src/Berth.Runtime.Cli -c Release -r linux-x64 -o out/bin -v quiet -nologo -clp:ErrorsOnly
dotnet publish src/Berth.Cli -c Release -r linux-x64 -o out/bin -v quiet -nologo -clp:ErrorsOnly
dotnet publish src/Berth.Daemon -c Release -r linux-x64 -o out/bin -v quiet -nologo -clp:ErrorsOnly
install -m 0755 src/monitor/build/berth-monitor out/bin/berth-monitor
# The NativeAOT binaries link libberth.a: no libberth.so ships beside them (tests of out/bin then also prove that
# an installed binary needs none).
rm -f out/bin/libberth.so
