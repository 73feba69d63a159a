#!/usr/bin/env bash
# Re-records the grouping corpus from the programs under programs/.
#
#   crates/faultline-grouping/corpus/record.sh [LANGUAGE...]
#
# LANGUAGE is python, nodejs, java, ruby, php, go, rust or dotnet (default:
# all). Needs python3, node, javac/java, ruby, php, go and rustc on PATH.
# Each program is copied to two deploy locations and recorded in both:
#   base     as written, under $WORK/base/srv/shop-<lang>/app, data seed 1;
#   shifted  with every `shift-point` marker line repeated 4 times (lines move
#            at the top of files and inside functions), under
#            $WORK/shifted/home/deploy/releases/<date>/shop-<lang>, data seed 2.
# The events of both go to <lang>.jsonl, one JSON object per line. .NET
# cannot run here: programs/dotnet/generate.py writes its traces by hand.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

languages=("$@")
if [ ${#languages[@]} -eq 0 ]; then
  languages=(python nodejs java ruby php go rust dotnet)
fi

# deploy_dir DEPLOY LANG: where a deploy of a program lives.
deploy_dir() {
  case "$1" in
    base) echo "$work/base/srv/shop-$2/app" ;;
    shifted) echo "$work/shifted/home/deploy/releases/20240611-1520/shop-$2" ;;
  esac
}

# install DEPLOY LANG: copies the program to its deploy location.
install() {
  local dir
  dir="$(deploy_dir "$1" "$2")"
  mkdir -p "$dir"
  cp -R "$here/programs/$2/." "$dir/"
  if [ "$1" = shifted ]; then
    find "$dir" -type f -exec sed -i '/shift-point/{p;p;p}' {} +
  fi
  echo "$dir"
}

# record LANG DEPLOY SEED: prints the events of one deploy on stdout.
# Recorders run from $work so no path is printed relative to the program.
record() {
  local lang="$1" deploy="$2" seed="$3" dir bin
  dir="$(install "$deploy" "$lang")"
  bin="$work/bin/$lang-$deploy"
  mkdir -p "$work/bin"
  cd "$work"
  case "$lang" in
    python) python3 "$dir/main.py" "$deploy" "$seed" ;;
    nodejs) node "$dir/record.js" "$deploy" "$seed" ;;
    ruby) ruby "$dir/record.rb" "$deploy" "$seed" ;;
    php) php "$dir/record.php" "$deploy" "$seed" ;;
    java)
      javac -d "$bin" $(find "$dir/src" -name '*.java')
      java -cp "$bin" com.acme.shop.Main "$deploy" "$seed"
      ;;
    go)
      (cd "$dir" && go build -o "$bin" .)
      "$bin" "$deploy" "$seed"
      ;;
    rust)
      rustc --edition 2021 -g -C opt-level=0 --crate-name shop "$dir/src/main.rs" -o "$bin"
      "$bin" "$deploy" "$seed"
      ;;
  esac
}

for lang in "${languages[@]}"; do
  out="$here/$lang.jsonl"
  if [ "$lang" = dotnet ]; then
    python3 "$here/programs/dotnet/generate.py" >"$out.tmp"
  else
    { record "$lang" base 1; record "$lang" shifted 2; } >"$out.tmp"
  fi
  mv "$out.tmp" "$out"
  echo "$lang: $(wc -l <"$out") events" >&2
done
