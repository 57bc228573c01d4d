#!/usr/bin/env bash
# Installs the third-party Kafka clients the compat suite drives, into git-ignored places:
#   kcat (Debian package, librdkafka 2.0.2)          -> system (apt-get)
#   confluent-kafka, kafka-python, aiokafka, pytest  -> compat/.venv
#   kafkajs 2.2.4 (npm)                              -> compat/js/node_modules
#   Java kafka-clients 3.9.1 + codec jars + classes  -> compat/.deps
# Idempotent: every step checks first and does nothing when its result is already there.
set -euo pipefail

COMPAT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$COMPAT_DIR/.venv"
DEPS="$COMPAT_DIR/.deps"
JARS="$DEPS/jars"
CLASSES="$DEPS/classes"

# Versions verified to install on Debian 12 / Python 3.11.
PY_REQUIREMENTS=(
  "confluent-kafka==2.16.1"                            # bundles librdkafka 2.16.x
  "kafka-python[lz4,snappy,zstd,crc32c]==3.0.12"       # extras: codecs for the pure-python client
  "aiokafka[lz4,snappy,zstd]==0.14.0"                  # asyncio client; extras: codecs (cramjam)
  "pytest==9.2.0"
  "pytest-timeout==2.4.0"
)
# Ships pyflink/lib/kafka-clients.jar (3.9.1) and its runtime deps (all four codecs present).
FLINK_LIBS="shigawire-apache-flink-libraries==2.0.0.post1"
JAVA_JARS=(kafka-clients lz4-java snappy-java zstd-jni slf4j-api)

log() { printf '[compat/setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- system packages (only what is missing) -----------------------------------------------
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
{ command -v node && command -v npm; } >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
else
  log "system packages present (kcat, javac, python3-venv, node, npm)"
fi
log "$(kcat -V 2>&1 | grep -m1 -o 'Version .*librdkafka [0-9.]*' || true)"

# --- python venv ----------------------------------------------------------------------------
stamp="$VENV/.weir-requirements"
wanted="$(printf '%s\n' "${PY_REQUIREMENTS[@]}")"
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  log "venv up to date ($VENV)"
else
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  log "pip install ${PY_REQUIREMENTS[*]}"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_REQUIREMENTS[@]}"
  printf '%s' "$wanted" >"$stamp"
fi
"$VENV/bin/python" -c 'import aiokafka, confluent_kafka, kafka; print("[compat/setup] confluent-kafka", confluent_kafka.__version__, "librdkafka", confluent_kafka.libversion()[0], "| kafka-python", kafka.__version__, "| aiokafka", aiokafka.__version__)'

# --- kafkajs (npm, pinned by compat/js/package-lock.json) ------------------------------------
js_stamp="$COMPAT_DIR/js/node_modules/.weir-lock.sha256"
js_sum="$(sha256sum "$COMPAT_DIR/js/package-lock.json" | cut -d' ' -f1)"
if [ -f "$js_stamp" ] && [ "$(cat "$js_stamp")" = "$js_sum" ]; then
  log "kafkajs up to date (compat/js/node_modules)"
else
  log "npm ci (compat/js)"
  (cd "$COMPAT_DIR/js" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s' "$js_sum" >"$js_stamp"
fi
log "node $(node --version), kafkajs $(node -p 'require("'"$COMPAT_DIR"'/js/node_modules/kafkajs/package.json").version')"

# --- Java client jars -----------------------------------------------------------------------
have_all_jars=1
for j in "${JAVA_JARS[@]}"; do [ -f "$JARS/$j.jar" ] || have_all_jars=0; done
if [ "$have_all_jars" -eq 1 ]; then
  log "java jars present ($JARS)"
else
  dl="$DEPS/download"
  mkdir -p "$dl" "$JARS"
  log "pip download $FLINK_LIBS"
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps -d "$dl" "$FLINK_LIBS"
  "$VENV/bin/python" - "$dl" "$JARS" "${JAVA_JARS[@]}" <<'EOF'
import pathlib, sys, zipfile
dl, out, names = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
wheel = next(dl.glob("*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name in names:
        member = f"pyflink/lib/{name}.jar"
        # A codec jar missing here would mean that codec cannot be tested with the Java client;
        # 2.0.0.post1 ships all of them, so a missing one is an error.
        (out / f"{name}.jar").write_bytes(z.read(member))
        print(f"[compat/setup] extracted {member}")
EOF
  rm -rf "$dl"
fi
"$VENV/bin/python" - "$JARS/kafka-clients.jar" <<'EOF'
import sys, zipfile
props = zipfile.ZipFile(sys.argv[1]).read("kafka/kafka-version.properties").decode()
print("[compat/setup] java kafka-clients", dict(l.split("=", 1) for l in props.split())["version"])
EOF

# --- compile the Java driver ------------------------------------------------------------------
cp="$(printf "$JARS/%s.jar:" "${JAVA_JARS[@]}")"
src_stamp="$CLASSES/.sources.sha256"
src_sum="$(cat "$COMPAT_DIR"/java/*.java | sha256sum | cut -d' ' -f1)"
if [ -f "$src_stamp" ] && [ "$(cat "$src_stamp")" = "$src_sum" ]; then
  log "java classes up to date ($CLASSES)"
else
  rm -rf "$CLASSES"
  mkdir -p "$CLASSES"
  log "javac compat/java/*.java"
  javac -nowarn -d "$CLASSES" -cp "${cp%:}" "$COMPAT_DIR"/java/*.java
  printf '%s' "$src_sum" >"$src_stamp"
fi
log "done"
