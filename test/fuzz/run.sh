#!/usr/bin/env bash
# Run each libFuzzer target for a bounded time and keep what it learned:
#   test/fuzz/run.sh BIN_DIR SECONDS TARGET...
# Each target starts from its committed corpus (test/fuzz/corpus/TARGET/)
# and writes new inputs to BIN_DIR/corpus/TARGET/; afterwards the inputs
# that add coverage are merged into the committed corpus (libFuzzer
# -merge=1, so it grows by what is new and nothing else). FUZZ_MINIMIZE=1
# instead rebuilds the committed corpus from scratch: the hand-written
# seed-* files, then the fewest inputs that keep all coverage.
# Crashes, leaks and timeouts land in BIN_DIR/artifacts/ and fail the run
# (after every target has had its turn). FUZZ_ARGS adds libFuzzer flags.
set -u
bin_dir=$1 secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
failed=() summary=()

# Longest input worth trying per target: past these nothing is read.
max_len() {
	case $1 in
	fuzz_uri) echo 300 ;;		# the parsers stop at 255 characters
	fuzz_identify) echo 400 ;;	# 16 header bytes + Identify through LBAF 63
	fuzz_prp) echo 16 ;;
	fuzz_tcp_pdu) echo 4096 ;;	# a few PDUs with up to 8 KiB of data between them
	*) echo 2048 ;;
	esac
}

for t in "$@"; do
	committed=$here/corpus/$t work=$bin_dir/corpus/$t art=$bin_dir/artifacts
	log=$bin_dir/$t.log
	mkdir -p "$committed" "$work" "$art"
	echo "== $t: ${secs}s, corpus $(find "$committed" -type f | wc -l) committed inputs"
	# shellcheck disable=SC2086
	"$bin_dir/$t" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix="$art/$t-" ${FUZZ_ARGS:-} "$work" "$committed" >"$log" 2>&1
	rc=$?
	last=$(grep -E '^#[0-9]+.*cov:' "$log" | tail -n 1)
	echo "$last"
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 edges, \2 features/p')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ "$rc" != 0 ]; then
		echo "FAIL $t (exit $rc): see $log and $art/"
		grep -E 'ERROR|invariant failed|Test unit written|SUMMARY' "$log" | head -n 10 | sed 's/^/    | /'
		failed+=("$t")
	fi
	if [ "${FUZZ_MINIMIZE:-0}" = 1 ]; then
		fresh=$bin_dir/corpus/$t.min
		rm -rf "$fresh" && mkdir -p "$fresh"
		cp "$committed"/seed-* "$fresh"/ 2>/dev/null
		"$bin_dir/$t" -merge=1 -max_len="$(max_len "$t")" "$fresh" "$committed" "$work" >>"$log" 2>&1 &&
			find "$committed" -type f ! -name 'seed-*' -delete && cp -n "$fresh"/* "$committed"/
	else
		"$bin_dir/$t" -merge=1 -max_len="$(max_len "$t")" "$committed" "$work" >>"$log" 2>&1
	fi
	n=$(find "$committed" -type f | wc -l) kb=$(($(cat "$committed"/* | wc -c) / 1024))
	summary+=("$(printf '%-14s %9s execs %7s/s  cov %-26s corpus %4d inputs %4d KiB' \
		"$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$n" "$kb")")
done
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz targets failed: ${failed[*]}"
	exit 1
fi
