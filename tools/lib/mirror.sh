# Sourced by tools/fetch-guest and tools/debian-image: the Debian mirror the system's apt sources
# already use (the project never names one itself).
# Mirror: the first http(s) URI of the system's apt sources that serves bookworm (falling back to
# another plain Debian suite), in one-line (.list) or deb822 (.sources) format.

list_sources_oneline() {  # file -> "uri suite" per deb line
  sed -e 's/#.*//' "$1" | awk '$1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if (i + 1 <= NF) print $i, $(i + 1)
    }'
}

list_sources_deb822() {  # file -> "uri suite" per (uri, suite) of enabled deb stanzas
  awk 'function flush() {
         if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
           n = split(uris, u, " "); m = split(suites, s, " ")
           for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
         }
         types = uris = suites = enabled = ""; key = ""
       }
       /^[ \t]*#/ { next }
       /^[ \t]*$/ { flush(); next }
       /^[ \t]/ { if (key == "uris") uris = uris " " $0; else if (key == "suites") suites = suites " " $0; next }
       {
         key = tolower($0); sub(/:.*/, "", key)
         val = $0; sub(/^[^:]*:[ \t]*/, "", val)
         if (key == "types") types = val; else if (key == "uris") uris = val
         else if (key == "suites") suites = val; else if (key == "enabled") enabled = val
       }
       END { flush() }' "$1"
}

find_mirror() {
  local f all=""
  shopt -s nullglob
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] && all+=$(list_sources_oneline "$f")$'\n'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] && all+=$(list_sources_deb822 "$f")$'\n'
  done
  shopt -u nullglob
  local suite
  for suite in bookworm trixie stable testing sid unstable; do
    awk -v s="$suite" '$2 == s && $1 ~ /^https?:\/\// { sub(/\/+$/, "", $1); print $1; exit }' <<<"$all" |
      grep . && return 0
  done
  return 1
}

# The suite names to try for release $1 on mirror $2, in order: the codename, then the "stable"
# alias while it names the same release. A mirror caught mid-sync (or a caching proxy in front of
# one) can serve a package index that no longer matches the codename's InRelease ("File has
# unexpected size ... Mirror sync in progress?") while the alias's Release, fetched separately,
# still matches it; apt and debootstrap verify whichever is used against the keyring either way.
suite_names() {  # $1 = codename, $2 = mirror
  echo "$1"
  local release
  release=$(curl -fsS --max-time 30 "$2/dists/stable/Release" 2>/dev/null) || return 0
  grep -qx "Codename: $1" <<<"$release" && echo stable
  return 0
}
