#!/bin/bash
# scripts/apt_deb_src.sh on the apt configurations under cases/: each
# case's etc/ and the deb-src entry it must give (want), written by hand
# from the apt formats; a case with no want must fail with a message.
#   run_apt_deb_src.sh SOURCE_DIR
set -u
src=$1 cases=$1/tests/setup/cases
pass=0 fail=0
for dir in "$cases"/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  got=$("$src/scripts/apt_deb_src.sh" "$dir" cnnc-src.sources 2>"${TMPDIR:-/tmp}/apt_deb_src.$$")
  rc=$?
  err=$(cat "${TMPDIR:-/tmp}/apt_deb_src.$$")
  rm -f "${TMPDIR:-/tmp}/apt_deb_src.$$"
  if [ -f "$dir/want" ]; then
    if [ $rc -eq 0 ] && [ "$got" = "$(cat "$dir/want")" ]; then
      pass=$((pass + 1)); echo "PASS $name"
    else
      fail=$((fail + 1)); echo "FAIL $name: exit $rc, $err"; diff <(printf '%s\n' "$got") "$dir/want"
    fi
  elif [ $rc -eq 1 ] && [ -z "$got" ] && [[ $err == *"no enabled deb entry"* ]]; then
    pass=$((pass + 1)); echo "PASS $name (refused)"
  else
    fail=$((fail + 1)); echo "FAIL $name: exit $rc, printed '$got', said '$err'"
  fi
done
echo "apt_deb_src: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
