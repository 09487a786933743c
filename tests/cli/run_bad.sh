#!/usr/bin/env bash
# The command line against bad input (SPEC sections 7 and 8).
#
#   run_bad.sh sources CNNC DIR   every case of DIR/bad_sources.tsv through 'cnnc --check'
#   run_bad.sh usage   CNNC DIR   bad command lines: exit 2; a missing source: exit 1
#
# For a source case it asserts the exit status (nothing crashed: no signal, no
# sanitizer report, nothing on stderr but diagnostics), that the first error is
# exactly FILE:LINE:COL: error: MESSAGE, and that every diagnostic is followed
# by its source line and a caret under its column (columns count bytes from 1;
# a tab is reproduced in the caret line; a long line is shown as a window
# around the column, marked with "..."). The optional fifth column lists every
# diagnostic as kind@LINE:COL, so several independent errors are all checked.
# The huge and binary cases (gen_*) are written to a temporary directory here.
set -u
export LC_ALL=C

mode=${1:?usage: run_bad.sh sources|usage CNNC DIR}
cnnc=${2:?usage: run_bad.sh sources|usage CNNC DIR}
dir=${3:-$(dirname "$0")}
case $cnnc in /*) ;; *) cnnc=$PWD/$cnnc ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnnc-cli.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

limit=()
command -v timeout >/dev/null && limit=(timeout 300)

failed=0
passed=0

# ---- sources made at test time ------------------------------------------------

# n copies of text, without newlines
repeat() {
    yes -- "$2" | head -n "$1" | tr -d '\n'
}

gen_binary_elf() {
    cp "$cnnc" "$1"
}

# What people give by mistake, each named (the file's first bytes).
gen_binary_zip() {
    printf 'PK\003\004\024\000\000\000archive/data.pkl' >"$1"
}

gen_binary_pickle() {
    printf '\200\002\212\nl\374\234F\371 j\250P\031.' >"$1"
}

gen_binary_safetensors() {
    printf '\002\000\000\000\000\000\000\000{}' >"$1"
}

# Control bytes throughout, but no NUL.
gen_binary_control() {
    local i
    for i in $(seq 1 64); do printf '\001\002\003abc'; done >"$1"
}

gen_binary_bytes() {
    local i
    for i in $(seq 0 255); do
        printf "\\$(printf %03o "$i")"
    done >"$1"
}

# A 1 MiB inline list with a stray word at its end: column 27 + 2^20 + 3.
gen_long_list() {
    {
        printf 'network n {\n  input 1x1x1\n  fc 1 bias=false weights=['
        repeat 524288 '1,'
        printf '1 x]\n}\n'
    } >"$1"
}

# A 1 MiB comment, then a line padded with 1 MiB of blanks and tabs before a
# misspelled key: column 23 + 2^20 + 1.
gen_long_line_key() {
    {
        printf 'network n {\n  input 28x28x1 # '
        repeat 1048576 'a'
        printf '\n  conv filters=1 size=1'
        repeat 524288 $' \t'
        printf 'strde=1\n}\n'
    } >"$1"
}

# 100,000 layers; the error is on line 99,993.
many_layers() {
    {
        printf 'network n {\n  input 8x8x1\n'
        yes '  relu' | head -n 99990
        printf '%s\n' "$2"
        yes '  relu' | head -n 10
        printf '}\n'
    } >"$1"
}

gen_many_layers() {
    many_layers "$1" '  conv filters=2 size=3 sride=1'
}

gen_many_layers_shape() {
    many_layers "$1" '  conv filters=2 size=9'
}

# Layers l1 .. l99999 on lines 3 .. 100001, then l5 again.
gen_many_names() {
    {
        printf 'network n {\n  input 8x8x1\n'
        seq 1 99999 | sed 's/.*/  l&: relu/'
        printf '  l5: relu\n}\n'
    } >"$1"
}

# ---- checking one diagnostic's source line and caret -----------------------------

# check_display SRC LINE COL SHOWN CARET: prints a problem, if any.
check_display() {
    local src=$1 line=$2 col=$3 shown=$4 caret=$5
    local text col0=$(($3 - 1))
    # The line as cnnc shows it: no trailing CR, control bytes but tab as '?'.
    text=$(sed -n "${line}{s/\r\$//;p;q;}" "$src" | tr '\000-\010\013-\037\177' '?')
    if ! [[ $caret =~ ^[$' \t']*\^$ ]]; then
        echo "caret line is not blanks then '^': '$caret'"
        return
    fi
    local p=$((${#caret} - 1)) lead=0 body start=0
    if [[ $shown == "$text" ]]; then
        body=$shown
    elif ((${#text} <= 160)); then
        echo "source line shown as '$shown', expected '$text'"
        return
    elif [[ $shown == ...* ]]; then
        lead=3
        body=${shown:3}
        start=$((col0 - (p - lead)))
        if ((start < 0)) || [[ ${text:start:${#body}} != "$body" ]]; then
            body=${body%...}
        fi
    else
        body=${shown%...}
    fi
    if ((start < 0)) || [[ ${text:start:${#body}} != "$body" ]]; then
        echo "source line shown as '${shown:0:200}', which is not the text of line $line around column $col"
        return
    fi
    if ((p - lead > ${#body})) || ((start + p - lead != col0)); then
        echo "caret at position $((p + 1)) of the shown line is not under column $col"
        return
    fi
    local pre=${body:0:p-lead} want
    want="$(printf '%*s' "$lead" '')${pre//[!$'\t']/ }^"
    if [[ $caret != "$want" ]]; then
        echo "caret line does not reproduce the tabs before column $col"
    fi
}

# ---- one source case ---------------------------------------------------------------

run_source_case() {
    local name=$1 status=$2 loc=$3 msg=$4 all=${5:-}
    local src=$dir/bad/$name.cnn
    if [[ $name == gen_* ]]; then
        src=$tmp/$name.cnn
        "$name" "$src"
    fi
    local problems=()
    if [[ ! -f $src ]]; then
        problems+=("no source $src")
    fi
    "${limit[@]}" "$cnnc" --check "$src" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if ((rc >= 124)); then
        problems+=("cnnc crashed or hung: exit status $rc")
    elif [[ $rc != "$status" ]]; then
        problems+=("exit status $rc, expected $status")
    fi
    if [[ -s $tmp/out ]]; then
        problems+=("unexpected output on stdout: $(head -c 200 "$tmp/out")")
    fi

    local lines=() i=0 first="" got_all="" rest kind problem
    mapfile -t lines <"$tmp/err"
    # LINE:COL '-': about the file as a whole, one line and no source shown.
    if [[ $loc == - ]]; then
        local whole="cnnc: error: $src: $msg"
        if ((${#lines[@]} != 1)) || [[ ${lines[0]} != "$whole" ]]; then
            problems+=("stderr differs:
    - $whole
    + $(head -c 400 "$tmp/err")")
        fi
        lines=()
        first=$whole
    fi
    while ((i < ${#lines[@]})); do
        local l=${lines[i]}
        rest=${l#"$src:"}
        if [[ $l == "$src:"* && $rest =~ ^([0-9]+):([0-9]+):\ (error|warning|note):\  ]]; then
            kind=${BASH_REMATCH[3]}
            got_all+="${got_all:+ }$kind@${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
            if [[ $kind == error && -z $first ]]; then
                first=$l
            fi
            if ((i + 2 >= ${#lines[@]})); then
                problems+=("$kind at ${BASH_REMATCH[1]}:${BASH_REMATCH[2]} has no source line and caret after it")
            else
                problem=$(check_display "$src" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
                    "${lines[i + 1]}" "${lines[i + 2]}")
                if [[ -n $problem ]]; then
                    problems+=("$kind at ${BASH_REMATCH[1]}:${BASH_REMATCH[2]}: $problem")
                fi
            fi
            i=$((i + 3))
        elif [[ $l == "$src:"* && $rest =~ ^\ (note|warning):\  ]]; then
            i=$((i + 1)) # about the file as a whole: "stopping after 20 errors"
        else
            problems+=("unexpected line on stderr: '${l:0:200}'")
            i=$((i + 1))
        fi
    done

    local want="$src:$loc: error: $msg"
    [[ $loc == - ]] && want="cnnc: error: $src: $msg"
    if [[ $first != "$want" ]]; then
        problems+=("first error differs:
    - $want
    + ${first:-(no error reported)}")
    fi
    if [[ -n $all && $got_all != "$all" ]]; then
        problems+=("diagnostics differ:
    - $all
    + $got_all")
    fi

    if ((${#problems[@]} == 0)); then
        passed=$((passed + 1))
        return
    fi
    failed=$((failed + 1))
    echo "FAIL $name"
    local pr
    for pr in "${problems[@]}"; do
        echo "  $pr"
    done
    echo "  stderr was:"
    head -n 12 "$tmp/err" | cut -c1-200 | sed 's/^/    | /'
}

run_sources() {
    local table=$dir/bad_sources.tsv name status loc msg all
    [[ -f $table ]] || { echo "no table $table"; exit 2; }
    while IFS=$'\t' read -r name status loc msg all; do
        [[ -z $name || $name == \#* ]] && continue
        run_source_case "$name" "$status" "$loc" "$msg" "$all"
    done <"$table"
}

# ---- the command line ------------------------------------------------------------------

# case: ARGS | exit | first line of stderr ('' = stderr empty); run in $tmp,
# where ok.cnn is a good source.
usage_cases=(
    "--check --bogus ok.cnn|2|cnnc: error: unknown option '--bogus'"
    "|2|cnnc: error: no input file"
    "--check|2|cnnc: error: no input file"
    "-O4 --check ok.cnn|2|cnnc: error: unknown optimisation level '-O4' (use -O0, -O1, -O2 or -O3)"
    "-Ofast --check ok.cnn|2|cnnc: error: unknown optimisation level '-Ofast' (use -O0, -O1, -O2 or -O3)"
    "-O --check ok.cnn|2|cnnc: error: unknown optimisation level '-O' (use -O0, -O1, -O2 or -O3)"
    "--emit=exe2 ok.cnn|2|cnnc: error: unknown --emit kind 'exe2' (exe, obj, asm, llvm, bc, dot or cnn)"
    "--emit= ok.cnn|2|cnnc: error: unknown --emit kind '' (exe, obj, asm, llvm, bc, dot or cnn)"
    "ok.cnn --emit|2|cnnc: error: --emit needs a value"
    "--report=xml ok.cnn|2|cnnc: error: unknown report format 'xml' (use --report or --report=json)"
    "--check ok.cnn ok.cnn|2|cnnc: error: one source file at a time ('ok.cnn' is a second one)"
    "ok.cnn -o|2|cnnc: error: -o needs a path"
    "--check missing.cnn|1|cnnc: error: cannot open 'missing.cnn': No such file or directory"
    "--check .|1|cnnc: error: '.' is a directory, not a .cnn source"
    "--target=thumbv7em-none-eabihf ok.cnn|2|cnnc: error: 'thumbv7em-none-eabihf' is bare metal: with no operating system to run a program, cnnc makes an object, not an executable. Use -c for NAME.o and NAME.h and link them into your firmware (examples/cortex-m/ shows how)"
    "--target=aarch64-linux-gnu --cc=/no/such/cc ok.cnn|1|cnnc: error: cannot link a program for 'aarch64-linux-gnu': its C compiler '/no/such/cc' is not installed. On Debian: apt-get install gcc-aarch64-linux-gnu (or name another compiler with --cc); -c makes the object and header without linking"
    "-o - ok.cnn|2|cnnc: error: -o - (standard output) takes asm, llvm, bc or dot, not an executable"
    "-c -o - ok.cnn|2|cnnc: error: -o - (standard output) takes asm, llvm, bc or dot, not an object and its header"
    "--check ok.cnn|0|"
    # Targets: a misspelt field is refused with the nearest name LLVM knows;
    # the cross toolchain is named as Debian packages it; a machine with no
    # runtime gets the list of those that have one, even with --cc.
    "--target=arm64-linux-gnuu --check ok.cnn|2|cnnc: error: --target=arm64-linux-gnuu: unknown environment 'gnuu'; did you mean 'gnu'? (a triple is ARCH-[VENDOR-]OS[-ENV], e.g. aarch64-linux-gnu)"
    "--target=aarch46-linux-gnu --check ok.cnn|2|cnnc: error: --target=aarch46-linux-gnu: unknown architecture 'aarch46'; did you mean 'aarch64'? (a triple is ARCH-[VENDOR-]OS[-ENV], e.g. aarch64-linux-gnu)"
    "--target=riscv64gc-linux-gnu --check ok.cnn|2|cnnc: error: --target=riscv64gc-linux-gnu: unknown architecture 'riscv64gc'; did you mean 'riscv64'? (a triple is ARCH-[VENDOR-]OS[-ENV], e.g. aarch64-linux-gnu)"
    "--target=x86_64-linxu-gnu --check ok.cnn|2|cnnc: error: --target=x86_64-linxu-gnu: unknown operating system 'linxu'; did you mean 'linux'? (a triple is ARCH-[VENDOR-]OS[-ENV], e.g. aarch64-linux-gnu)"
    "--target=aarch64-lunix-gnu --check ok.cnn|2|cnnc: error: --target=aarch64-lunix-gnu: unknown operating system 'lunix'; did you mean 'linux'? (a triple is ARCH-[VENDOR-]OS[-ENV], e.g. aarch64-linux-gnu)"
    "--target=aarch64-linux-gnu-gcc --check ok.cnn|2|cnnc: error: --target=aarch64-linux-gnu-gcc: 'gcc' is more than a triple holds (ARCH-[VENDOR-]OS[-ENV]); a C compiler is named with --cc"
    "--target=armv7-linux-gnueabihf --cc=/no/such/cc ok.cnn|1|cnnc: error: cannot link a program for 'armv7-linux-gnueabihf': cnnc links programs for this machine and for aarch64-linux-gnu, riscv64-linux-gnu, wasm32-wasi only; -c makes the object and its header for 'armv7-linux-gnueabihf', to link with a main of your own (NAME.h shows the calls)"
    "--target=i686-linux-gnu --cc=/no/such/cc ok.cnn|1|cnnc: error: cannot link a program for 'i686-linux-gnu': cnnc links programs for this machine and for aarch64-linux-gnu, riscv64-linux-gnu, wasm32-wasi only; -c makes the object and its header for 'i686-linux-gnu', to link with a main of your own (NAME.h shows the calls)"
    "--target=aarch64-unknown-linux-gnu --check ok.cnn|0|"
    "--target=x86_64-mycorp-linux-gnu --check ok.cnn|0|"
    "--target=aarch64-linux-android21 --check ok.cnn|0|"
    "--target=thumbv8m.main-none-eabihf --check ok.cnn|0|"
    "--target=x86_64-pc-windows-msvc --check ok.cnn|0|"
    "--target=x86_64-w64-mingw32 --check ok.cnn|0|"
    "--target=x86_64-apple-macosx14.0 --check ok.cnn|0|"
)

run_usage() {
    printf 'network ok {\n  input 28x28x1\n  fc 10\n}\n' >"$tmp/ok.cnn"
    local c args status want rc got
    for c in "${usage_cases[@]}"; do
        IFS='|' read -r args status want <<<"$c"
        local problems=()
        # shellcheck disable=SC2086 # the arguments are words
        (cd "$tmp" && "${limit[@]}" "$cnnc" $args >out 2>err)
        rc=$?
        got=$(head -n 1 "$tmp/err")
        [[ $rc == "$status" ]] || problems+=("exit status $rc, expected $status")
        [[ $got == "$want" ]] || problems+=("first line of stderr differs:
    - $want
    + $got")
        [[ -s $tmp/out ]] && problems+=("unexpected output on stdout: $(head -c 200 "$tmp/out")")
        if ((status == 2)) && [[ $(sed -n 2p "$tmp/err") != "cnnc: try 'cnnc --help'" ]]; then
            problems+=("no pointer to --help after a usage error")
        fi
        if ((${#problems[@]} == 0)); then
            passed=$((passed + 1))
            continue
        fi
        failed=$((failed + 1))
        echo "FAIL cnnc $args"
        local pr
        for pr in "${problems[@]}"; do
            echo "  $pr"
        done
    done
    # A net with its weights inline, for the outputs that need them.
    printf 'network tiny {\n  input 2x1x1\n  fc 1 weights=[1, 2] biases=[0.5]\n}\n' >"$tmp/tiny.cnn"
    # Names LLVM does not know: an error naming them (an unknown x86-64 CPU,
    # spelled x86_64 or amd64, used to end in LLVM's fatal error, status 134,
    # and an unknown riscv64 one still does inside LLVM: the check runs in a
    # child); --cpu=native is this machine's CPU, and nothing else's.
    local opts status want
    for c in "--cpu=bogus|1|does not know the CPU 'bogus'" "--features=+bogus|1|does not know the feature '+bogus'" \
        "--target=aarch64-linux-gnu --cpu=native|1|--cpu=native means this machine's CPU" "--cpu=native|0|" \
        "--target=amd64-linux-gnu --cpu=bogus|1|does not know the CPU 'bogus' for amd64" \
        "--target=riscv64-linux-gnu --cpu=bogus|1|does not know the CPU 'bogus' for riscv64" \
        "--target=riscv64-linux-gnu --cpu=skylake-avx512|1|does not know the CPU 'skylake-avx512' for riscv64"; do
        IFS='|' read -r opts status want <<<"$c"
        # shellcheck disable=SC2086 # the options are words
        (cd "$tmp" && "${limit[@]}" "$cnnc" tiny.cnn $opts -S -o tiny.s >out 2>err)
        rc=$?
        if [[ $rc == "$status" ]] && { [[ -z $want && -s $tmp/tiny.s && ! -s $tmp/err ]] ||
            { [[ -n $want && ! -e $tmp/tiny.s ]] && grep -qF -- "$want" "$tmp/err"; }; }; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAIL cnnc tiny.cnn $opts -S: exit $rc (want $status), stderr $(head -c 300 "$tmp/err")"
        fi
        rm -f "$tmp/tiny.s"
    done

    # -o - is standard output for text and bitcode: the output there, and no
    # file named '-' left behind.
    local kind first
    for c in "--emit=llvm|; ModuleID = 'tiny'" "--emit=dot|digraph \"tiny\" {" "--report|network tiny: 2x1x1 -> 1x1x1, 2 layers" \
        "-S|tiny_infer" "--emit=bc|BC"; do
        IFS='|' read -r kind first <<<"$c"
        rm -f "$tmp/-"
        (cd "$tmp" && "${limit[@]}" "$cnnc" tiny.cnn "$kind" -o - >out 2>err)
        rc=$?
        # Assembly for this machine's CPU says so, once (run_header.sh).
        [[ $kind == -S ]] && sed -i '1{/^cnnc: note: the assembly is made for this machine.s CPU/d}' "$tmp/err"
        if ((rc == 0)) && grep -qF -- "$first" "$tmp/out" && [[ ! -e $tmp/- && ! -s $tmp/err ]]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAIL cnnc tiny.cnn $kind -o -: exit $rc, stdout $(head -c 80 "$tmp/out" | tr -d '\0'), stderr $(head -c 200 "$tmp/err")"
            [[ -e $tmp/- ]] && echo "  and it wrote a file named '-'"
        fi
    done
}

case $mode in
sources) run_sources ;;
usage) run_usage ;;
*) echo "run_bad.sh: unknown mode '$mode'"; exit 2 ;;
esac

echo "$passed passed, $failed failed"
((failed == 0))
