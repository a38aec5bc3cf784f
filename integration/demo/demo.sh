#!/usr/bin/env bash
# `make demo`: build examples/python-basic through its `# syntax=` line with
# the world's buildkitd, run it, and show that there is no shell to get into.
# Exits 0 only if the app ran and every shell attempt failed.
# Run from the repo root with the world's env exported (see the Makefile).
set -uo pipefail

GO=${GO:-go}
example=examples/python-basic
out=${SHABUNBLE_WORLD:?run through make demo}/demo
img=$out/python-basic.tar
tw=$out/testworld
mkdir -p "$out"
rm -f "$img"

failures=()
heading() { printf '\n== %s\n' "$*"; }
say() { printf '%s\n' "$*"; }
fail() { failures+=("$*"); say "!! $*"; }

"$GO" build -o "$tw" ./integration/testworld || { say "!! cannot build integration/testworld"; exit 1; }

heading "build $example (its first line: $(head -n1 $example/shabunble.yaml))"
say "\$ buildctl build --frontend dockerfile.v0 --local context=$example --local dockerfile=$example \\"
say "    --opt filename=shabunble.yaml --output type=oci,dest=${img#"$PWD"/}"
start=$(date +%s)
if "$SHABUNBLE_BUILDCTL" build --progress plain --frontend dockerfile.v0 \
	--local context=$example --local dockerfile=$example \
	--opt filename=shabunble.yaml --output "type=oci,dest=$img" >"$out/build.log" 2>&1; then
	# One line per build step (the full log is in build.log).
	grep -E '^#[0-9]+ [^ ]' "$out/build.log" | awk '!seen[$1]++' | sed 's/^/   /'
	say "built in $(( $(date +%s) - start ))s; full log: ${out#"$PWD"/}/build.log"
else
	tail -n 40 "$out/build.log"
	say "!! the build failed; full log: $out/build.log"
	exit 1
fi

heading "run it (like: docker run img)"
say "\$ testworld run ${img#"$PWD"/}"
"$tw" run "$img" 2>&1 | tee "$out/run.log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	fail "the app exited with $rc"
elif ! grep -q '^10$' "$out/run.log" || ! grep -q 'B O O M !' "$out/run.log"; then
	fail "the app ran but the countdown and explosion did not show"
else
	say "-> the app ran: countdown and explosion"
fi

heading "try a shell (like: docker run --entrypoint X img)"
for ep in sh /bin/sh ls; do
	say "\$ testworld run --entrypoint $ep ${img#"$PWD"/}"
	res=$("$tw" run --entrypoint "$ep" "$img" </dev/null 2>&1)
	rc=$?
	printf '%s\n' "$res" | sed 's/^/   /'
	if [ "$rc" -eq 0 ]; then
		fail "--entrypoint $ep ran (exit 0)"
	elif ! grep -qiE 'not found|no such file or directory' <<<"$res"; then
		fail "--entrypoint $ep failed (exit $rc) but not with a not-found error"
	else
		say "-> failed, as it should (exit $rc): there is no $ep in the image"
	fi
done

heading "image config"
"$tw" inspect --format summary "$img" | sed 's/^/   /' || fail "cannot read the image config"

heading "result"
if [ ${#failures[@]} -ne 0 ]; then
	printf 'FAIL: %s\n' "${failures[@]}"
	exit 1
fi
say "OK: the app runs, and sh, /bin/sh and ls are not in the image."
