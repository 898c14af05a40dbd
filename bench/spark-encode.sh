#!/bin/sh
# images/s of 512x512 encodes: one process looping over the images against the Spark encode job on local[2] and
# local[1] (spark/src/test/java/io/vae4j/spark/EncodeBench.java). Usage: bench/spark-encode.sh [MODEL] [IMAGES] [ROUNDS]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.mvn/jdk.sh"
vae4j_find_jdk25 || exit 1
"$root/spark/vae4j-spark" --help >/dev/null    # builds the core artifact, the jar and the class path list
"$root/mvnw" -q -f "$root/spark/pom.xml" test-compile
model=${1:-$root/models/taef2.safetensors}
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
cd "$root/spark"
exec "$JAVA_HOME/bin/java" @jvm.options -Dlog4j2.configurationFile=conf/log4j2.properties -Dvae4j.root="$root" \
  -cp "target/classes:target/test-classes:$(cat target/classpath.txt)" io.vae4j.spark.EncodeBench \
  "$model" "${2:-16}" "${3:-3}"
