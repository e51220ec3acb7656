# Shared by scripts/install_system_audio.sh and scripts/install_chromium.sh (source it,
# do not run it): install Debian packages with apt-get when this user may, as root or
# through password-less sudo. Never exits the caller, so each script can go on to say
# what is missing and how the project copes without it.

# apt_install WHAT PACKAGE...
#   WHAT names the purpose in the messages (e.g. "for the browser checks").
#   Runs `apt-get update` once, then one `apt-get install` of all the packages.
#   Returns 0 when they were installed, else 1 after one line on stderr with the
#   cause: no apt-get, neither root nor password-less sudo, or apt-get failed.
apt_install() {
  local what=$1
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "musicalpy: no apt-get on this machine, cannot install $* ($what)" >&2
    return 1
  fi
  # `env` carries DEBIAN_FRONTEND through sudo, which resets the environment.
  local run="env"
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      run="sudo -n env"
    else
      echo "musicalpy: apt-get needs root or password-less sudo, cannot install $* ($what)" >&2
      return 1
    fi
  fi
  echo "musicalpy: installing $* with apt-get ($what) ..."
  if $run DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
     $run DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    echo "musicalpy: installed $*"
    return 0
  fi
  echo "musicalpy: apt-get could not install $* ($what)" >&2
  return 1
}
