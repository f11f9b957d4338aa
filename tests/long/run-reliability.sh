#!/usr/bin/env bash
# The long reliability runs (docs/reliability.md): kill/resume at 24 random moments, exact resume of the digits
# smallcnn acceptance command, a 20,480-step resource run, and 100,000 fuzz cases per reader. Each is an explicit
# xunit test, so CI (which runs only the short variants) never starts them. Run from anywhere; takes ~40 minutes
# on 2 busy cores. Figures (kill phases, fuzz counts, RSS) are appended to artifacts/reliability-figures.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build tests/Loom.Tests
# The out-of-process runs use the Release CLI: a Debug build trains digits/smallcnn at a few samples per second.
dotnet build -c Release src/Loom.Cli
export LOOM_CLI_DLL="$PWD/src/Loom.Cli/bin/Release/net10.0/Loom.Cli.dll"
export LOOM_RELIABILITY_LOG="${LOOM_RELIABILITY_LOG:-$PWD/artifacts/reliability-figures.log}"
mkdir -p "$(dirname "$LOOM_RELIABILITY_LOG")"
run() { dotnet test tests/Loom.Tests --no-build -- --explicit only --show-live-output on "$@"; }
run --filter-class 'Loom.Tests.Reliability.CrashSafetyTests'
run --filter-class 'Loom.Tests.Reliability.ExactResumeTests'
run --filter-class 'Loom.Tests.Reliability.ResourceTests'
run --filter-class 'Loom.Tests.Reliability.Fuzz.FuzzTests'
