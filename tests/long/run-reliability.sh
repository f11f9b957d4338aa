#!/usr/bin/env bash
# The long reliability runs (docs/reliability.md): kill/resume at 24 random moments, exact resume of the digits
# smallcnn acceptance command, a 20,480-step resource run, and 100,000 fuzz cases per reader. Each is an explicit
# xunit test, so CI (which runs only the short variants) never starts them. Run from anywhere; takes ~40 minutes
# on 2 busy cores. Output: one block per test with its figures (--show-live-output).
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build tests/Loom.Tests
run() { dotnet test tests/Loom.Tests --no-build -- --explicit only --show-live-output on "$@"; }
run --filter-class 'Loom.Tests.Reliability.CrashSafetyTests'
run --filter-class 'Loom.Tests.Reliability.ExactResumeTests'
run --filter-class 'Loom.Tests.Reliability.ResourceTests'
run --filter-class 'Loom.Tests.Reliability.Fuzz.FuzzTests'
