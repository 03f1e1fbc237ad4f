# Sourced by tools/fetch-guest and bench/programs/fetch: a private apt for one Debian suite and
# architecture (its own sources, lists, cache and empty dpkg status under a directory the caller
# owns; the system's apt state is never touched). The Release file is verified against the
# system keyring; there is no way to skip that. The caller defines die and log.

readonly kAptKeyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt_setup() {  # $1 = apt dir, $2 = mirror, $3 = suite name in the URI, $4 = architecture
  local a=$1
  mkdir -p "$a"/etc/{apt.conf.d,sources.list.d,preferences.d,trusted.gpg.d} \
           "$a"/state/lists/partial "$a"/cache/archives/partial "$a"/log "$a"/debs
  : >"$a/state/status"
  echo "deb [signed-by=$kAptKeyring] $2 $3 main" >"$a/etc/sources.list"
  {
    echo "Dir::Etc \"$a/etc\";"
    echo "Dir::Etc::main \"$a/etc/apt.conf\";"
    echo "Dir::Etc::Parts \"$a/etc/apt.conf.d\";"
    echo "Dir::Etc::SourceList \"$a/etc/sources.list\";"
    echo "Dir::Etc::SourceParts \"$a/etc/sources.list.d\";"
    echo "Dir::Etc::Preferences \"$a/etc/preferences\";"
    echo "Dir::Etc::PreferencesParts \"$a/etc/preferences.d\";"
    echo "Dir::Etc::Trusted \"$a/etc/trusted.gpg\";"
    echo "Dir::Etc::TrustedParts \"$a/etc/trusted.gpg.d\";"
    echo "Dir::State \"$a/state\";"
    echo "Dir::State::status \"$a/state/status\";"
    echo "Dir::Cache \"$a/cache\";"
    echo "Dir::Log \"$a/log\";"
    echo "APT::Architecture \"$4\";"
    echo "APT::Architectures { \"$4\"; };"
    echo "Acquire::Languages \"none\";"
    echo "Acquire::GzipIndexes \"true\";"
    # Root cannot hand a private directory under $HOME to the _apt sandbox user; downloads
    # are verified by apt either way.
    ((EUID == 0)) && echo "APT::Sandbox::User \"root\";"
    echo "Binary::apt-get::Acquire::AllowInsecureRepositories \"false\";"
  } >"$a/apt.conf"
}

# Logs apt's first error line from log $1 (the caller usually removes the apt dir on exit).
apt_error() {
  local line
  line=$(grep -m1 -E '^E:' "$1") && log "  apt: $line"
  return 0
}

apt_update() {  # $1 = apt dir, $2 = mirror, $3 = suite name -> 0, or 1 if the indices are unusable
  local logf=$1/log/update.log
  if APT_CONFIG=$1/apt.conf apt-get -q --error-on=any update >"$logf" 2>&1; then
    return 0
  fi
  apt_error "$logf"
  if grep -qE 'NO_PUBKEY|EXPKEYSIG|BADSIG|not signed|signature|OpenPGP' "$logf"; then
    die "the $3 Release file from $2 could not be verified with $kAptKeyring" \
        "(update the debian-archive-keyring package; verification is never skipped)"
  fi
  return 1
}

# Sets up the private apt in $1 for release $3 and architecture $4 from mirror $2 on the first
# suite name whose index is whole (suite_names, tools/lib/mirror.sh), or only on suite name $5 if
# given; the name used is written to $1/suite.
apt_update_index() {
  command -v apt-get >/dev/null || die "apt-get is not available"
  [[ -r $kAptKeyring ]] || die "$kAptKeyring is missing (install debian-archive-keyring)"
  local suite
  for suite in ${5:-$(suite_names "$3" "$2")}; do
    rm -rf "$1"
    apt_setup "$1" "$2" "$suite" "$4"
    log "updating the $3 $4 package index from $2 (dists/$suite)"
    apt_update "$1" "$2" "$suite" && { echo "$suite" >"$1/suite"; return 0; }
  done
  die "cannot download the $3 package index from $2 (network or mirror unavailable?)"
}

apt_download() {  # $1 = apt dir, packages... -> the .deb files in $1/debs
  local a=$1; shift
  if ! (cd "$a/debs" && APT_CONFIG=$a/apt.conf apt-get -q download "$@") >"$a/log/download.log" 2>&1; then
    apt_error "$a/log/download.log"
    die "cannot download $* (network or mirror unavailable?)"
  fi
}

# Writes to $1/closure the packages apt would install on an empty system for the packages named
# after $1, as pkg=version, one per line (Recommends left out).
apt_closure() {
  local a=$1; shift
  APT_CONFIG=$a/apt.conf apt-get -s -q install --no-install-recommends "$@" 2>"$a/log/resolve.log" |
    sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p' >"$a/closure" || true
  [[ -s $a/closure ]] || { apt_error "$a/log/resolve.log"; die "apt cannot resolve $* for $(cat "$a/suite")"; }
}

# Unpacks every .deb in $1/debs into the tree $2 (no maintainer scripts run) and makes the
# merged-/usr links (/bin, /sbin, /lib, /lib64 into /usr) the packages expect.
apt_unpack_tree() {
  local deb d
  mkdir -p "$2/usr"
  for deb in "$1"/debs/*.deb; do dpkg-deb -x "$deb" "$2"; done
  for d in bin sbin lib lib64; do
    if [[ -d $2/$d && ! -L $2/$d ]]; then  # a package that still ships into /bin and the like
      mkdir -p "$2/usr/$d" && cp -a "$2/$d/." "$2/usr/$d/" && rm -rf "${2:?}/$d"
    fi
    [[ -e $2/usr/$d ]] && ln -sfn "usr/$d" "$2/$d"
  done
  mkdir -p "$2/tmp" "$2/dev" "$2/proc" "$2/sys"
  chmod 1777 "$2/tmp"
}
