#!/usr/bin/env bash
# An output never replaces an input (SPEC section 7: bad input leaves nothing
# half written, and nothing overwritten). cnnc's -o, its default output, the
# header -c writes beside the object and a program's --output are each aimed
# at an input: by its own name, through a symbolic link and through a hard
# link. Each must exit 1 with a message naming both files, and leave every
# file in the directory as it was.
#
#   run_outputs.sh CNNC
set -u
export LC_ALL=C
cnnc=${1:?usage: run_outputs.sh CNNC}
case $cnnc in /*) ;; *) cnnc=$PWD/$cnnc ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-outputs.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
passed=0 failed=0

# A network whose weights come from a file, the file, and an identity
# network for the program's --output.
printf 'network tiny {\n  input 2x1x1\n  fc 1\n}\n' >tiny.cnn
{
    hdr='{"fc1.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"fc1.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}'
    printf "\\x$(printf %02x ${#hdr})\\0\\0\\0\\0\\0\\0\\0%s" "$hdr"
    printf '\0\0\x80\x3f\0\0\0\x40\0\0\0\x3f' # 1.0, 2.0, 0.5
} >w.safetensors
printf 'network ident {\n  input 4x4x1\n  relu\n}\n' >ident.cnn
printf 'P5 4 4 255\n0123456789abcdef' >img.pgm
cp tiny.cnn tiny.h # a source that -c's header would replace
cp tiny.cnn noext  # a source whose default output is itself
ln -s tiny.cnn link.cnn
ln w.safetensors hard.safetensors
if ! "$cnnc" ident.cnn -o ident 2>err; then
    echo "FAIL: cannot build the identity program: $(head -c 300 err)"
    exit 1
fi
ln -s img.pgm img_link.pgm
rm -f err

# What every file holds, to compare after each refused run.
snapshot() { find . -maxdepth 1 \( -type f -o -type l \) -printf '%p %y %n ' -exec md5sum {} \; | sort; }
before=$(snapshot)

# check WANT CMD...: exit 1, WANT on stderr, stdout empty, no file changed,
# added or removed.
check() {
    local want=$1
    shift
    "$@" >out 2>err
    local rc=$? problems=()
    ((rc == 1)) || problems+=("exit status $rc, expected 1")
    grep -qF -- "$want" err || problems+=("stderr lacks '$want': $(head -c 300 err)")
    [[ -s out ]] && problems+=("output on stdout: $(head -c 200 out)")
    rm -f out err
    local after
    after=$(snapshot)
    [[ $after == "$before" ]] || problems+=("files changed: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')")
    if ((${#problems[@]} == 0)); then
        passed=$((passed + 1))
        return
    fi
    failed=$((failed + 1))
    echo "FAIL: $*"
    printf '  %s\n' "${problems[@]}"
}

src="cnnc: error: the output 'tiny.cnn' is the source 'tiny.cnn'; cnnc will not write over an input"
wts="cnnc: error: the output 'w.safetensors' is the weights file 'w.safetensors'; cnnc will not write over an input"
check "$src" "$cnnc" tiny.cnn --weights w.safetensors -o tiny.cnn
check "$src" "$cnnc" tiny.cnn --weights w.safetensors -c -o tiny.cnn
check "$src" "$cnnc" tiny.cnn --weights w.safetensors -S -o tiny.cnn
check "$src" "$cnnc" tiny.cnn --report -o tiny.cnn
check "$src" "$cnnc" tiny.cnn --emit=dot -o tiny.cnn
check "$wts" "$cnnc" tiny.cnn --weights w.safetensors -o w.safetensors
check "$wts" "$cnnc" tiny.cnn --weights w.safetensors -c -o w.safetensors
check "the output './tiny.cnn' is the source 'tiny.cnn' (the same file by another name)" \
    "$cnnc" tiny.cnn --weights w.safetensors -o ./tiny.cnn
check "the output 'link.cnn' is the source 'tiny.cnn' (the same file by another name)" \
    "$cnnc" tiny.cnn --weights w.safetensors -o link.cnn
check "the output 'hard.safetensors' is the weights file 'w.safetensors' (the same file by another name)" \
    "$cnnc" tiny.cnn --weights w.safetensors -o hard.safetensors
check "the output 'tiny.cnn' is the source 'link.cnn' (the same file by another name)" \
    "$cnnc" link.cnn --weights w.safetensors -o tiny.cnn
check "the header 'tiny.h' is the source 'tiny.h'" "$cnnc" tiny.h --weights w.safetensors -c -o other.o
check "the output 'noext' is the source 'noext'" "$cnnc" noext --weights w.safetensors

# -c's object where its own header goes: the header would replace it.
check "cnnc: error: -o tiny.h is where -c writes the header, tiny.h, beside the object; name the object another way, such as tiny.o" \
    "$cnnc" tiny.cnn --weights w.safetensors -c -o tiny.h

# The program's --output against its input images.
check "ident: error: --output img.pgm is the input 'img.pgm'; it would be overwritten" ./ident img.pgm --output img.pgm
check "ident: error: --output img_link.pgm is the input 'img.pgm' (the same file by another name)" \
    ./ident img.pgm --output img_link.pgm

# And a different path is still written.
if "$cnnc" tiny.cnn --weights w.safetensors -o prog 2>err && [[ -x prog ]] &&
    ./ident img.pgm --output out.pgm 2>>err && [[ -s out.pgm ]]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL: a different output path is refused: $(head -c 300 err)"
fi

# An output that is a FIFO, as -o /dev/null is a device, gets the bytes and
# stays what it is: the temporary is copied into it, not renamed over it
# (renaming as root replaced /dev/null with a regular file). A reader on the
# FIFO, under a time limit, takes what arrives.
fifo_case() { # WHAT ARGS...: cnnc ARGS -o out.fifo, then compare with cnnc ARGS -o want
    local what=$1
    shift
    rm -f out.fifo got want
    mkfifo out.fifo || { failed=$((failed + 1)); echo "FAIL: mkfifo"; return; }
    timeout 60 cat out.fifo >got &
    local reader=$!
    if "$cnnc" "$@" -o out.fifo 2>err && wait "$reader" && [[ -p out.fifo ]] &&
        "$cnnc" "$@" -o want 2>>err && cmp -s got want; then
        passed=$((passed + 1))
    else
        kill "$reader" 2>/dev/null
        failed=$((failed + 1))
        echo "FAIL: $what into a FIFO: $(if [[ -p out.fifo ]]; then echo "wrong bytes"; else echo "the FIFO was replaced"; fi) $(head -c 300 err)"
    fi
}
fifo_case "a report" --report tiny.cnn
fifo_case "an object" -c tiny.cnn --weights w.safetensors
rm -f out.fifo

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
