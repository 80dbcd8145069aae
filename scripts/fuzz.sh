#!/usr/bin/env bash
# Runs every libFuzzer target in BIN_DIR for SECONDS each, one after another.
#
#   scripts/fuzz.sh BIN_DIR SECONDS          (make fuzz runs: scripts/fuzz.sh build-fuzz/bin 60)
#
# Each target first writes its seed inputs (valid encodings, so the fuzzer starts past the
# magic and version bytes) when run with TOPO_FUZZ_WRITE_SEEDS=<dir>. Committed seeds in
# fuzz/corpus/<target>/, if any, are read too. The corpus a run grows is kept in
# $FUZZ_WORK/<target>/corpus (default: BIN_DIR/../fuzz-work), so later runs start from it;
# the run's log is <target>/run.log, its findings go to <target>/artifacts/<date-time>/.
#
# Environment: FUZZ_TARGETS="vertex bundle ..." runs only those; FUZZ_WORK as above;
# FUZZ_ARGS adds libFuzzer flags to every run (e.g. "-jobs=2 -workers=2").
#
# Exits non-zero when any target crashes, times out, leaks or runs out of memory; the input
# that did it is printed (reproduce with: BIN_DIR/<target>_fuzz <file>).
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BIN_DIR SECONDS" >&2
  exit 2
fi
bin_dir=$(cd "$1" && pwd) || exit 2
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-$bin_dir/../fuzz-work}
mkdir -p "$work" && work=$(cd "$work" && pwd)

# The longest input worth trying, per format: a bit over the largest valid encoding that
# matters (vertex payloads may be 256 KiB, but small ones cover every branch).
max_len() {
  case $1 in
    vertex) echo 4096 ;;
    crdt_op) echo 2048 ;;
    object_payload) echo 1024 ;;
    device_cert) echo 512 ;;
    bundle) echo 8192 ;;
    keyfile) echo 4200 ;;  # store::kMaxKeyFileBytes is 4096
    ingest) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

if [ -n "${FUZZ_TARGETS:-}" ]; then
  targets=()
  for t in $FUZZ_TARGETS; do targets+=("${t%_fuzz}"); done
else
  targets=()
  for f in "$bin_dir"/*_fuzz; do
    [ -x "$f" ] && targets+=("$(basename "$f" _fuzz)")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no *_fuzz executables in $bin_dir" >&2
  exit 2
fi

stamp=$(date +%Y%m%d-%H%M%S)
failed=()
summary=()
for t in "${targets[@]}"; do
  exe=$bin_dir/${t}_fuzz
  if [ ! -x "$exe" ]; then
    echo "fuzz: $exe is missing" >&2
    failed+=("$t (missing)")
    continue
  fi
  dir=$work/$t
  artifacts_dir=$dir/artifacts/$stamp  # one per run: earlier reproducers are kept
  rm -rf "$dir/seeds"
  mkdir -p "$dir/seeds" "$dir/corpus" "$artifacts_dir"
  if ! TOPO_FUZZ_WRITE_SEEDS=$dir/seeds "$exe" >"$dir/seeds.log" 2>&1; then
    echo "fuzz: $t could not write its seeds:" >&2
    cat "$dir/seeds.log" >&2
    failed+=("$t (seeds)")
    continue
  fi
  corpora=("$dir/corpus" "$dir/seeds")
  [ -d "$root/fuzz/corpus/$t" ] && corpora+=("$root/fuzz/corpus/$t")

  n_seeds=$(find "$dir/seeds" -type f | wc -l)
  n_corpus=$(find "$dir/corpus" -type f | wc -l)
  echo "== $t: ${seconds}s, -max_len=$(max_len "$t"), $n_seeds seeds, $n_corpus in corpus"
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  "$exe" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts_dir/" ${FUZZ_ARGS:-} \
    "${corpora[@]}" >"$dir/run.log" 2>&1
  rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/run.log" | tail -1)
  summary+=("$(printf '%-16s rc=%-3s %s' "$t" "$rc" "${done_line:-no final stats}")")
  artifacts=$(find "$artifacts_dir" -type f | sort)
  if [ $rc -ne 0 ] || [ -n "$artifacts" ]; then
    echo "fuzz: $t FAILED (exit $rc); log: $dir/run.log" >&2
    grep -E 'ERROR|SUMMARY|==[0-9]+==|runtime error|_fuzz: ' "$dir/run.log" | head -20 >&2
    for a in $artifacts; do echo "fuzz: reproducer: $a   (rerun: $exe $a)" >&2; done
    failed+=("$t")
  fi
done

echo
echo "== fuzz summary"
for line in "${summary[@]}"; do echo "$line"; done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failures in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings"
