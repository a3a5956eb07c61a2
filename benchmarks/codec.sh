#!/usr/bin/env bash
# The codec microbenchmark (JMH): encode and decode of a typical task message, ns/op and allocated bytes/op.
#   benchmarks/codec.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/lib.sh
build_benchmarks
out=$(mktemp)
java -cp benchmarks/target/celeriac-benchmarks.jar org.openjdk.jmh.Main 'io.celeriac.benchmarks.CodecBench' \
  -prof gc | tee "$out"
/usr/bin/python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
parts = []
for op in ("encode", "decode"):
    t = re.search(r"CodecBench\.%s\s+avgt\s+\d+\s+([\d.,]+)\s+±\s+([\d.,]+)\s+ns/op" % op, text)
    a = re.search(r"CodecBench\.%s:gc\.alloc\.rate\.norm\s+avgt\s+\d+\s+([\d.,]+)" % op, text)
    if t and a:
        parts.append("%s %s ns/op (± %s), %s B/op" % (op, t.group(1), t.group(2), a.group(1)))
print("SUMMARY codec: " + "; ".join(parts))
PY
rm -f "$out"
