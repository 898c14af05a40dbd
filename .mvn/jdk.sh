# Sourced by ./mvnw and ./vae4j: point JAVA_HOME at a JDK 25 (the default java on our machines is 17).
# Order: JAVA_HOME if it is already a 25, then /usr/lib/jvm/*25*, then the java on PATH if it is a 25.
vae4j_is_jdk25() {
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  "$1/bin/java" -version 2>&1 | head -n 1 | grep -Eq 'version "25([."]|$)'
}
vae4j_find_jdk25() {
  if [ -n "${JAVA_HOME:-}" ] && vae4j_is_jdk25 "$JAVA_HOME"; then return 0; fi
  for d in /usr/lib/jvm/*25* /usr/lib/jvm/*-25*; do
    if vae4j_is_jdk25 "$d"; then JAVA_HOME="$d"; export JAVA_HOME; return 0; fi
  done
  if command -v javac >/dev/null 2>&1; then
    d=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    if vae4j_is_jdk25 "$d"; then JAVA_HOME="$d"; export JAVA_HOME; return 0; fi
  fi
  echo "vae4j: no JDK 25 found. Install one (e.g. Temurin 25) and set JAVA_HOME to it;" >&2
  echo "       looked at JAVA_HOME='${JAVA_HOME:-}', /usr/lib/jvm/*25* and the javac on PATH." >&2
  return 1
}
