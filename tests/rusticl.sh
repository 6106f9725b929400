#!/usr/bin/env bash
# Runs a command on Mesa's rusticl (llvmpipe: its OpenCL on the CPU, whose NIR compiler is the
# one Mesa's AMD and Intel GPU drivers use), a second OpenCL implementation beside PoCL. When
# rusticl's llvmpipe is not on the machine (Debian's mesa-opencl-icd is not installed), says so
# and exits 77, which CTest reports as a skipped test, by name. Usage:
#   rusticl.sh CLGAN BUILD_DIR COMMAND [ARGS...]
# Mesa keeps its own cache of compiled kernels: here one in the build tree, as clgan's.
set -uo pipefail
clgan=$1
build=$2
shift 2
export RUSTICL_ENABLE=llvmpipe
export MESA_SHADER_CACHE_DIR=$build/test-cache/mesa
if ! "$clgan" devices 2>/dev/null | grep -q "llvmpipe"; then
    if [ -n "${OCL_ICD_VENDORS:-}" ]; then
        why="OCL_ICD_VENDORS=$OCL_ICD_VENDORS names no rusticl"
    else
        why="Debian's mesa-opencl-icd is not installed: tools/setup.sh installs it"
    fi
    echo "rusticl: SKIPPED: 'clgan devices' with RUSTICL_ENABLE=llvmpipe lists no llvmpipe" \
         "device ($why)"
    exit 77
fi
[ -n "${RUSTICL_NOTE:-}" ] && echo "rusticl: $RUSTICL_NOTE"
exec "$@"
