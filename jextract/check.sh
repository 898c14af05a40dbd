#!/bin/sh
# Checks the hand-kept bindings against the installed oneDNN headers without jextract: compiles a small C program
# that prints every constant named in includes.txt and the size of every struct typedef, and compares that with the
# values and layouts in src/main/java/io/vae4j/backend/onednn/ffm. Needs gcc, libdnnl-dev and a built target/classes
# (./mvnw -q compile). Prints the differences and exits 1 when there are any.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.mvn/jdk.sh"
vae4j_find_jdk25 >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ffm="$root/src/main/java/io/vae4j/backend/onednn/ffm"

{
  echo '#include <stdio.h>'
  echo '#include <oneapi/dnnl/dnnl.h>'
  echo 'int main(void) {'
  grep '^--include-constant' "$root/jextract/includes.txt" | while read -r _ name; do
    printf '  printf("%%s %%ld\\n", "%s", (long) (%s));\n' "$name" "$name"
  done
  grep '^--include-typedef' "$root/jextract/includes.txt" | while read -r _ name; do
    printf '  printf("sizeof(%%s) %%ld\\n", "%s", (long) sizeof(%s));\n' "$name" "$name"
  done
  echo '  return 0;'
  echo '}'
} >"$tmp/probe.c"
gcc -o "$tmp/probe" "$tmp/probe.c"
"$tmp/probe" | sort >"$tmp/c.txt"

# The Java side: constants from dnnl_h.java's 'private static final int NAME = (int) VALUEL;', sizes from the classes.
sed -n 's/^    private static final int \([A-Za-z0-9_]*\) = (int) \(-\{0,1\}[0-9]*\)L;$/\1 \2/p' "$ffm/dnnl_h.java" >"$tmp/j.txt"
cat >"$tmp/Sizes.java" <<'JAVA'
public class Sizes {
    public static void main(String[] a) throws Exception {
        for (String t : new String[]{"dnnl_memory_desc_t", "dnnl_convolution_desc_t", "dnnl_matmul_desc_t", "dnnl_exec_arg_t", "dnnl_version_t"}) {
            Object n = Class.forName("io.vae4j.backend.onednn.ffm." + t).getMethod("sizeof").invoke(null);
            System.out.println("sizeof(" + t + ") " + n);
        }
        for (String t : new String[]{"dnnl_dim_t", "dnnl_dims_t"}) {
            Object layout = Class.forName("io.vae4j.backend.onednn.ffm.dnnl_h").getField(t).get(null);
            System.out.println("sizeof(" + t + ") " + ((java.lang.foreign.MemoryLayout) layout).byteSize());
        }
    }
}
JAVA
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/target/classes" "$tmp/Sizes.java" >>"$tmp/j.txt"
sort -o "$tmp/j.txt" "$tmp/j.txt"
if diff "$tmp/c.txt" "$tmp/j.txt" >"$tmp/diff.txt"; then
  echo "check.sh: $(wc -l <"$tmp/c.txt") constants and struct sizes match the installed headers"
else
  echo "check.sh: the bindings differ from the installed headers (< header, > bindings):"
  cat "$tmp/diff.txt"
  exit 1
fi
