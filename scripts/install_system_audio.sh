#!/usr/bin/env bash
# Install the system pieces MusicalPy's audio needs: libfluidsynth (FluidSynth's C
# library, loaded by pyfluidsynth) and a General MIDI soundfont (FluidR3_GM).
# Idempotent and quick when both are present. Never fails the build: when it cannot
# install, it says what is missing and MusicalPy falls back (pretty_midi's bundled
# soundfont for a missing FluidR3_GM; sine synthesis for a missing libfluidsynth).
set -u

have_lib() { ldconfig -p 2>/dev/null | grep -q 'libfluidsynth\.so'; }
have_sf2() { [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || [ -n "${MUSICALPY_SOUNDFONT:-}" ]; }

if have_lib && have_sf2; then
  exit 0
fi

missing=()
have_lib || missing+=(libfluidsynth3)
have_sf2 || missing+=(fluid-soundfont-gm)

# shellcheck source=scripts/lib_apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_apt.sh"
apt_install "for the audio" "${missing[@]}" && exit 0

echo "musicalpy: missing system audio pieces: ${missing[*]}" >&2
echo "  install them with: sudo apt-get install ${missing[*]}   (macOS: brew install fluid-synth)" >&2
echo "  carrying on: audio falls back to pretty_midi's soundfont or to sine synthesis." >&2
exit 0
