#!/bin/sh
# Build the fuzz harnesses (tests/fuzz/*_fuzz.c) against a copy of libstoch
# compiled with the fuzzing compiler.  Called by `make fuzz` (mk/fuzz.mk),
# which passes the variables below; by hand, from a configured build tree:
#   make fuzz-build                      # libFuzzer + ASan + UBSan (clang)
#   make fuzz-build FUZZ_MODE=afl FUZZ_CC=afl-clang-fast   # AFL++
#
#   FUZZ_CC        compiler (clang; afl-clang-fast for AFL++)
#   FUZZ_CXX       C++ compiler, for C++ sources of the library if any
#   FUZZ_MODE      libfuzzer (default): -fsanitize=fuzzer; afl: AFL++'s
#                  libFuzzer-compatible driver (-fsanitize=fuzzer under
#                  afl-clang-fast); driver: tests/fuzz/driver.c's main()
#   FUZZ_SAN       sanitizers (default address,undefined)
#   FUZZ_OUT       output folder (default tests/fuzz/bin in the build tree)
#   srcdir builddir, LIB_SOURCES (library sources relative to srcdir),
#   DEP_CFLAGS DEP_LIBS (the dependencies' flags from configure)
set -eu
: "${FUZZ_CC:=clang}" "${FUZZ_CXX:=clang++}" "${FUZZ_MODE:=libfuzzer}"
: "${FUZZ_SAN:=address,undefined}" "${srcdir:=.}" "${builddir:=.}"
: "${FUZZ_OUT:=$builddir/tests/fuzz/bin}" "${DEP_CFLAGS:=}" "${DEP_LIBS:=}"
: "${FUZZ_JOBS:=2}"
[ -n "${LIB_SOURCES:-}" ] || { echo "build.sh: LIB_SOURCES is empty (run it through make fuzz-build)" >&2; exit 2; }

case $FUZZ_MODE in
libfuzzer) inst="-fsanitize=fuzzer-no-link,$FUZZ_SAN"; link="-fsanitize=fuzzer,$FUZZ_SAN"; main= ;;
afl)       inst="-fsanitize=$FUZZ_SAN"; link="-fsanitize=fuzzer,$FUZZ_SAN"; main= ;;
driver)    inst="-fsanitize=$FUZZ_SAN"; link="-fsanitize=$FUZZ_SAN"; main="$srcdir/tests/fuzz/driver.c" ;;
*) echo "build.sh: FUZZ_MODE must be libfuzzer, afl or driver" >&2; exit 2 ;;
esac
[ -n "$FUZZ_SAN" ] || { inst=${inst%,}; inst=${inst%-fsanitize=}; link=${link%,}; link=${link%-fsanitize=}; }

# C++ sources without UBSan's vptr check: it needs the C++ UBSan runtime,
# which the C link of the harnesses does not pull in (every other check stays).
# No OpenMP: a fuzz run is one thread, and its results do not depend on it.
common="-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined -Wno-unknown-pragmas \
 -D_GNU_SOURCE -I$builddir -I$srcdir/lib $DEP_CFLAGS"
obj="$FUZZ_OUT/obj-$FUZZ_MODE"
mkdir -p "$obj"
lib="$obj/libstoch-fuzz.a"

# Rebuild the library when a source or header is newer than it.
stale=1
if [ -f "$lib" ]; then
    stale=0
    for f in $LIB_SOURCES $(cd "$srcdir" && ls lib/*/*.h) config.h; do
        if [ "$f" = config.h ]; then p="$builddir/config.h"; else p="$srcdir/$f"; fi
        [ "$p" -nt "$lib" ] && { stale=1; break; }
    done
fi
if [ "$stale" = 1 ]; then
    echo "fuzz: compiling libstoch with $FUZZ_CC ($FUZZ_MODE, $FUZZ_SAN)"
    rm -f "$lib" "$obj"/*.o
    for f in $LIB_SOURCES; do echo "$f"; done | sort -u | xargs -P "$FUZZ_JOBS" -I{} sh -c '
        f={}; o="'"$obj"'/$(echo "$f" | tr / _).o"
        case $f in
        *avx512*) extra="-mavx512f -ffp-contract=off" ;;
        *avx2*)   extra="-mavx2 -ffp-contract=off" ;;
        *)        extra= ;;
        esac
        case $f in
        *.cpp|*.cc) exec '"$FUZZ_CXX"' '"$common $inst"' $extra -fno-sanitize=vptr -std=c++17 -c "'"$srcdir"'/$f" -o "$o" ;;
        *)          exec '"$FUZZ_CC"' '"$common $inst"' $extra -std=c11 -c "'"$srcdir"'/$f" -o "$o" ;;
        esac'
    ar rcs "$lib" "$obj"/*.o
fi

# C++ sources need the C++ runtime at link time.
cxxlib=
case " $LIB_SOURCES " in *.cpp\ *|*.cc\ *) cxxlib="-lstdc++" ;; esac

for h in "$srcdir"/tests/fuzz/*_fuzz.c; do
    name=$(basename "$h" .c)
    out="$FUZZ_OUT/$name"
    [ "$FUZZ_MODE" = libfuzzer ] || out="$FUZZ_OUT/$name-$FUZZ_MODE"
    if [ -f "$out" ] && [ "$out" -nt "$lib" ] && [ "$out" -nt "$h" ] && \
       [ "$out" -nt "$srcdir/tests/fuzz/fuzz.h" ] && [ "$out" -nt "$srcdir/tests/fuzz/stream_fuzz.h" ]; then
        continue
    fi
    echo "fuzz: linking $out"
    $FUZZ_CC $common $inst -std=c11 -I"$srcdir/tests/fuzz" $link "$h" $main "$lib" $DEP_LIBS $cxxlib -lm -o "$out"
done
