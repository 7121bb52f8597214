#!/usr/bin/env bash
# Run unit test binaries one by one with a timeout each, print each one's
# time, and fail if any fails. VALGRIND=1 runs each under valgrind.
# A test that exits 77 was skipped: that is printed loudly, and under CI=true
# it counts as a failure (nothing may skip silently in CI).
set -u
timeout_s=${UNIT_TIMEOUT:-120}
failed=() skipped=()
for t in "$@"; do
	name=$(basename "$t")
	start=$(date +%s%N)
	if [ "${VALGRIND:-0}" = 1 ]; then
		timeout $((timeout_s * 10)) valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite "$t" >"$t.log" 2>&1
	else
		timeout "$timeout_s" "$t" >"$t.log" 2>&1
	fi
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))
	case $rc in
	0) printf 'PASS %-28s %8ss\n' "$name" "$secs" ;;
	77) printf 'SKIP %-28s %8ss  <-- SKIPPED: %s\n' "$name" "$secs" "$(tail -n 1 "$t.log")"
	    skipped+=("$name") ;;
	124) printf 'FAIL %-28s timed out after %ss\n' "$name" "$timeout_s"; failed+=("$name") ;;
	*) printf 'FAIL %-28s %8ss (exit %d)\n' "$name" "$secs" "$rc"; failed+=("$name") ;;
	esac
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then sed 's/^/    | /' "$t.log" | tail -n 40; fi
done
if [ "${#skipped[@]}" -gt 0 ] && [ "${CI:-}" = true ]; then
	echo "unit tests skipped under CI: ${skipped[*]}"
	exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
	echo "unit tests failed: ${failed[*]}"
	exit 1
fi
echo "unit tests: all $# passed${skipped:+ (${#skipped[@]} skipped)}"
