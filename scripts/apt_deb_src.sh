#!/usr/bin/env bash
# Prints the deb-src entry (deb822) that setup.sh needs for `apt-get source
# cjson`, derived from the machine's own apt sources, so it names whatever
# mirror the machine uses: each enabled deb entry, one-line
# (sources.list, sources.list.d/*.list) or deb822 (sources.list.d/*.sources),
# that carries the release's own suite (VERSION_CODENAME in os-release) with
# component main becomes a deb-src stanza of the same URI, that suite and its
# -updates when the entry has it, main, and the same Signed-By. Other
# repositories (security, third parties) are left out: cJSON's source is in
# main, and a third party may publish no sources.
#
#   scripts/apt_deb_src.sh [ROOT] [SKIP]
#
# ROOT (default /) is where etc/ is read from (tests give a directory of
# their own); SKIP is a file under sources.list.d to ignore (the one
# setup.sh writes). Exits 1, saying why, when no entry qualifies.
set -euo pipefail
root=${1:-/}
skip=${2:-}
etc=${root%/}/etc
codename=$(. "$etc/os-release" 2>/dev/null && echo "${VERSION_CODENAME:-}") || true
if [ -z "$codename" ]; then
  echo "apt_deb_src.sh: no VERSION_CODENAME in $etc/os-release" >&2
  exit 1
fi
files=()
[ -f "$etc/apt/sources.list" ] && files+=("$etc/apt/sources.list")
for f in "$etc"/apt/sources.list.d/*.list "$etc"/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  [ -n "$skip" ] && [ "$(basename "$f")" = "$(basename "$skip")" ] && continue
  files+=("$f")
done
out=$(
  for f in "${files[@]}"; do
    case $f in
      *.sources) format=deb822 ;;
      *) format=line ;;
    esac
    awk -v format="$format" -v codename="$codename" '
      # One entry: prints its deb-src stanza when it qualifies.
      function emit(types, uris, suites, comps, signed, enabled,   n, i, s, has_deb, has_main, got, upd, u, nu) {
        if (tolower(enabled) == "no") return
        n = split(types, s, /[ \t]+/); has_deb = 0
        for (i = 1; i <= n; i++) if (s[i] == "deb") has_deb = 1
        n = split(comps, s, /[ \t]+/); has_main = 0
        for (i = 1; i <= n; i++) if (s[i] == "main") has_main = 1
        n = split(suites, s, /[ \t]+/); got = 0; upd = 0
        for (i = 1; i <= n; i++) {
          if (s[i] == codename) got = 1
          if (s[i] == codename "-updates") upd = 1
        }
        if (!has_deb || !has_main || !got) return
        nu = split(uris, u, /[ \t]+/)
        for (i = 1; i <= nu; i++) {
          if (u[i] == "") continue
          if (printed++) print ""
          print "Types: deb-src"
          print "URIs: " u[i]
          print "Suites: " codename (upd ? " " codename "-updates" : "")
          print "Components: main"
          if (signed != "") print "Signed-By:" signed
        }
      }
      function flush() {
        if (seen) emit(f["types"], f["uris"], f["suites"], f["components"], f["signed-by"], f["enabled"])
        delete f; seen = 0; last = ""
      }
      format == "line" {
        sub(/#.*/, "")
        if ($0 ~ /^[ \t]*$/) next
        n = split($0, w, /[ \t]+/); k = 1
        while (k <= n && w[k] == "") k++
        type = w[k++]; signed = ""
        if (w[k] ~ /^\[/) {
          # Options: [a=b c=d], perhaps over several words.
          opts = ""
          while (k <= n) { opts = opts " " w[k]; if (w[k++] ~ /\]$/) break }
          gsub(/[\[\]]/, "", opts)
          m = split(opts, o, /[ \t]+/)
          for (j = 1; j <= m; j++) if (o[j] ~ /^signed-by=/) signed = " " substr(o[j], 11)
        }
        uri = w[k++]; suite = w[k++]; comps = ""
        for (; k <= n; k++) comps = comps " " w[k]
        emit(type, uri, suite, comps, signed, "yes")
        next
      }
      # deb822: stanzas split by blank lines; a line starting with white
      # space continues the field before it (an inline key, say).
      /^#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { if (last != "") f[last] = f[last] "\n" $0; next }
      {
        i = index($0, ":"); if (i == 0) next
        last = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1)
        if (last != "signed-by") { sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v) }
        f[last] = v; seen = 1
      }
      END { if (format == "deb822") flush() }
    ' "$f"
    echo
  done
)
# Stanzas from several files, one blank line between each.
out=$(printf '%s\n' "$out" | awk 'NF { if (gap && n) print ""; print; n++; gap = 0; next } { gap = 1 }')
if [ -z "$out" ]; then
  echo "apt_deb_src.sh: no enabled deb entry for '$codename' main in $etc/apt/sources.list or sources.list.d/" >&2
  exit 1
fi
printf '%s\n' "$out"
