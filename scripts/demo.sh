#!/usr/bin/env bash
# The topo demo (make demo): two replicas, alice and bob, edit the same objects offline and
# converge by exchanging bundle files; then alice, bob, carol and alice's phone run as four
# daemons on loopback that join one encrypted workspace through invite links and sync live
# over QUIC (invite, accept, keys, roles, a linked device, the team chat and a shared file,
# removal, a new key epoch). Works in demo-out/ under the repository (wiped first) and checks
# every claim it prints; exits non-zero if one does not hold.
# Needs only bash, coreutils, cmp, grep, sed and the topo binary (no jq, no python).
#
# Usage: scripts/demo.sh [path/to/topo]   (default: build/bin/topo)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
topo=${1:-$root/build/bin/topo}
[[ $topo == /* ]] || topo=$PWD/$topo
if [[ ! -x $topo ]]; then
  echo "demo: no topo binary at $topo (run make build first)" >&2
  exit 1
fi
out=$root/demo-out
# Every command runs through its database's daemon (started on first use); stop them all
# when the demo ends, and those of an earlier run before wiping its directory.
stop_daemons() {
  local pid
  for pid in "$out"/*.db.pid; do
    [[ -e $pid ]] && "$topo" --db "${pid%.pid}" stop >/dev/null
  done
  return 0
}
stop_daemons
rm -rf "$out"
mkdir -p "$out"
cd "$out"
trap stop_daemons EXIT
unset TOPO_DB TOPO_PASSPHRASE  # the demo's replicas are plaintext and named explicitly

# ---- helpers ----

# topo on one replica's database: `as alice object list`.
as() {
  local who=$1
  shift
  "$topo" --db "$who.db" "$@"
}

# One line of narration: "alice: what happened".
say() { printf '%-6s %s\n' "$1:" "$2"; }
section() { printf '\n== %s ==\n' "$1"; }

# A field of one-line JSON from stdin: a string's contents or a number (no nesting needed).
json_field() {
  sed -n "/\"$1\":/{s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p;q}"
}

# Words for narration, quoting the ones with spaces.
words() {
  local w out=""
  for w in "$@"; do
    [[ $w == *" "* ]] && w="\"$w\""
    out+="${out:+ }$w"
  done
  printf '%s' "$out"
}

declare -A ids  # object name -> id

create() {  # who name type
  local id
  id=$(as "$1" --json object create --type "$3" | json_field object)
  ids[$2]=$id
  local what="create $3"
  [[ $2 != "$3" ]] && what+=" \"$2\""
  say "$1" "$what -> ${id:0:8}"
}

# update who name [field] -- op words...   (field "-" for single-field objects)
update() {
  local who=$1 name=$2 field=$3
  shift 3
  local args=(object update "${ids[$name]}")
  [[ $field != - ]] && args+=(--field "$field")
  as "$who" --json "${args[@]}" -- "$@" >/dev/null
  local target=$name
  [[ $field != - ]] && target+=".$field"
  say "$who" "$target $(words "$@")"
}

export_bundle() {  # who file
  local n
  n=$(as "$1" --json bundle export "$2" | json_field vertices)
  say "$1" "export -> $2 ($n vertices)"
}

import_bundle() {  # who file
  local report applied dup
  report=$(as "$1" --json bundle import "$2")
  applied=$(json_field applied <<<"$report")
  dup=$(json_field duplicate <<<"$report")
  say "$1" "import $2 -> $applied applied, $dup already here"
  for bad in blocked rejected invalid; do
    if [[ $(json_field "$bad" <<<"$report") != 0 ]]; then
      echo "demo: unexpected $bad vertices: $report" >&2
      exit 1
    fi
  done
}

# A list of one-character strings, ["a","b"], as the text "ab".
list_text() {
  sed -e 's/.*"value":\[//' -e 's/\]}.*$//' -e 's/^"//' -e 's/"$//' -e 's/","//g'
}

# Two texts in columns under the headers "alice" and "bob".
side_by_side() {
  local -a left right
  mapfile -t left <<<"alice"$'\n'"$1"
  mapfile -t right <<<"bob"$'\n'"$2"
  local i n=${#left[@]}
  ((${#right[@]} > n)) && n=${#right[@]}
  for ((i = 0; i < n; i++)); do
    printf '  %-32s %s\n' "${left[i]-}" "${right[i]-}"
  done
}

# ---- the story ----

section "alice works alone"
as alice init --device-name alice >/dev/null
say alice "init (device $(as alice --json identity | json_field device_key | cut -c1-8))"
create alice doc doc
create alice visits counter
create alice note list
update alice doc title set "Shopping"
update alice doc tags add groceries
update alice doc tags add urgent
update alice visits - inc
update alice note - append "milk, eggs"
export_bundle alice alice-1.bndl

section "bob gets alice's bundle"
as bob init --device-name bob >/dev/null
say bob "init (device $(as bob --json identity | json_field device_key | cut -c1-8))"
import_bundle bob alice-1.bndl

section "both edit offline, at the same time"
update alice visits - add 2
update bob visits - add 5
update alice doc tags remove urgent
update bob doc tags add urgent
update bob doc tags remove groceries
update alice doc tags add weekend
update alice doc title set "Weekend shopping"
update bob doc title set "Bob's list"
update alice doc status set "ready"
update bob doc status set "needs review"
update alice note - insert 4 ", bread"
update bob note - insert 4 ", jam"
update alice doc votes at pizza inc
update bob doc votes at pizza inc
update bob doc votes at sushi inc

section "they swap bundles"
export_bundle alice alice-2.bndl
export_bundle bob bob-2.bndl
import_bundle alice bob-2.bndl
import_bundle bob alice-2.bndl

section "what each replica now holds"
for name in doc visits note; do
  id=${ids[$name]}
  printf -- '-- %s (%s) --\n' "$name" "${id:0:8}"
  if [[ $name == note ]]; then
    for who in alice bob; do
      say "$who" "\"$(as "$who" --json object show "$id" | list_text)\""
    done
  else
    side_by_side "$(as alice object show "$id")" "$(as bob object show "$id")"
  fi
done

section "how the concurrent edits merged"
echo "visits  the increments of both add up: 1 + 2 (alice) + 5 (bob) = 8"
echo "tags    bob's add of \"urgent\" wins over alice's concurrent remove (add-wins set)"
echo "title   one of the two concurrent sets wins, the same one on both (last writer wins)"
echo "status  a multi-value register keeps both concurrent values"
echo "votes   each key is a counter: both votes for pizza count"
echo "note    both insertions at position 4 are kept, in the same order on both"

# ---- the check: every object's state, as JSON, byte for byte ----
section "check"
if [[ "$(as alice --json object list)" != "$(as bob --json object list)" ]]; then
  echo "demo: alice and bob list different objects" >&2
  exit 1
fi
count=0
for id in $(as alice --json object list | grep -o '"object":"[0-9a-f]*"' | cut -d'"' -f4); do
  a=$(as alice --json object show "$id")
  b=$(as bob --json object show "$id")
  if [[ $a != "$b" ]]; then
    echo "demo: object ${id:0:8} differs" >&2
    echo "  alice: $a" >&2
    echo "  bob:   $b" >&2
    exit 1
  fi
  count=$((count + 1))
done
if ((count != ${#ids[@]})); then
  echo "demo: expected ${#ids[@]} objects, found $count" >&2
  exit 1
fi
echo "alice and bob converged: $count objects identical"

# ---- part two: an encrypted workspace, live between daemons ----
#
# Each database's daemon listens on loopback (QUIC); invite links carry the inviter's
# address and device key; accepting one dials the inviter. From here on nothing is
# exchanged by hand: the daemons sync live.

expect_eq() {  # what got want
  if [[ $2 != "$3" ]]; then
    echo "demo: $1: got \"$2\", expected \"$3\"" >&2
    exit 1
  fi
}

# Waits (up to 30 s) until `as who ARGS...` prints field `field` equal to `want`; says how
# long it took.
wait_for() {  # what want who field args...
  local what=$1 want=$2 who=$3 field=$4 got start=$SECONDS i
  shift 4
  for ((i = 0; i < 300; ++i)); do
    got=$(as "$who" --json "$@" 2>/dev/null | json_field "$field" || true)
    [[ $got == "$want" ]] && return 0
    sleep 0.1
  done
  echo "demo: $what: after 30 s $who still has \"$got\", expected \"$want\"" >&2
  exit 1
}

section "the daemons"
for who in alice bob; do
  addr=$(as "$who" --json status | json_field listening)
  say "$who" "daemon (started by the first command) listening on $addr (QUIC, loopback)"
done
say carol "and alice's phone: their daemons start with their first command"

section "alice creates a workspace"
ws=$(as alice --json create-workspace --name "Acme" --username alice | json_field workspace)
say alice "create-workspace Acme -> ${ws:0:8}"
plan=$(as alice --json object create --type doc --workspace "$ws" | json_field object)
say alice "create an encrypted doc \"plan\" -> ${plan:0:8}"
as alice object update "$plan" --field title set "Q3 plan" >/dev/null
say alice "plan.title set \"Q3 plan\""

section "bob joins with an invite link"
link=$(as alice invite --uses 1 --expires 7d)
say alice "invite --uses 1 --expires 7d -> ${link:0:40}... (carries her address and key)"
as bob accept "$link" --username bob >/dev/null
say bob "accept <link> --username bob: his daemon dials alice's and proves the invite"
wait_for "bob reads the plan" "Q3 plan" bob title object show "$plan"
say bob "reads the plan: \"Q3 plan\" (he got the workspace, his key and the doc, live)"

section "both write; alice makes bob an admin; bob invites carol"
as bob object update "$plan" --field tags add launch >/dev/null
say bob "plan.tags add launch"
as alice object update "$plan" --field count add 3 >/dev/null
say alice "plan.count add 3"
wait_for "alice sees bob's tag" 3 bob count object show "$plan"
expect_eq "alice and bob agree" "$(as alice --json object show "$plan")" "$(as bob --json object show "$plan")"
say bob "sees count 3; alice sees the tag: both hold the same plan"
as alice grant-admin bob >/dev/null
say alice "grant-admin bob"
wait_for "bob is an admin" admin bob role workspaces
link2=$(as bob invite --uses 1)
say bob "invite --uses 1 (as an admin; the link carries his address)"
as carol accept "$link2" --username carol >/dev/null
say carol "accept <link> --username carol: dials bob"
wait_for "carol reads the plan" "Q3 plan" carol title object show "$plan"
say carol "reads the plan: \"Q3 plan\""
echo "members (as alice sees them):"
for ((i = 0; i < 100; ++i)); do
  [[ $(as alice members | grep -c .) == 3 ]] && break
  sleep 0.1
done
as alice members | sed 's/^/  /'

section "alice adds her phone through a device link"
dlink=$(as alice link-device)
say alice "link-device -> ${dlink:0:40}..."
as phone accept-link "$dlink" --device-name "alice's phone" >/dev/null
say phone "accept-link <link> --device-name \"alice's phone\": dials alice"
wait_for "the phone acts for alice" "$(as alice --json identity | json_field user_key)" phone user_key identity
wait_for "the phone reads the plan" "Q3 plan" phone title object show "$plan"
say phone "acts as alice (same user key) and reads the plan: \"Q3 plan\""
as phone object update "$plan" --field count add 1 >/dev/null
say phone "plan.count add 1"
wait_for "bob sees the phone's write" 4 bob count object show "$plan"
say bob "sees count 4"

section "the team chats: #general, a thread, channels (one private), reactions, a file, an edit, a delete"
# Waits (up to 30 s) until `as who ARGS...` prints a line containing `text`.
wait_text() {  # what text who args...
  local what=$1 text=$2 who=$3 i
  shift 3
  for ((i = 0; i < 300; ++i)); do
    as "$who" "$@" 2>/dev/null | grep -qF -- "$text" && return 0
    sleep 0.1
  done
  echo "demo: $what: after 30 s $who does not show \"$text\"" >&2
  exit 1
}
as alice send "Welcome to Acme, @bob and @carol! Plans are in #general." >/dev/null
say alice "send \"Welcome to Acme, @bob and @carol! ...\" (to #general)"
wait_text "bob gets alice's welcome" "Welcome to Acme" bob messages
# The short number a replica shows for the message whose line contains some text.
number_of() {  # who text
  as "$1" messages | grep -F -- "$2" | sed -E 's/^ *#([0-9]+) .*/\1/' | head -1
}
first=$(number_of bob "Welcome to Acme")
as bob send --thread "$first" "Thanks! Happy to be here." >/dev/null
say bob "send --thread $first \"Thanks! Happy to be here.\" (a reply in alice's thread)"
wait_text "carol gets alice's welcome" "Welcome to Acme" carol messages
cfirst=$(number_of carol "Welcome to Acme")
as carol react "$cfirst" "🎉" >/dev/null
say carol "react $cfirst 🎉 (numbers are each device's own; ids are shared)"
as alice channel create design --topic "mockups and reviews" >/dev/null
say alice "channel create design --topic \"mockups and reviews\""
as alice send -c design "First mockups are up, thoughts?" >/dev/null
as alice channel create launch --private -m bob --topic "the launch date" >/dev/null
say alice "channel create launch --private -m bob (its own members and key epochs)"
as alice send -c launch "We launch on Friday; keep it between us." >/dev/null
wait_text "bob reads the private #launch" "launch on Friday" bob messages -c launch
say bob "messages -c launch -> \"We launch on Friday; keep it between us.\""
if as carol messages -c launch >/dev/null 2>&1; then
  echo "demo: carol, who is not in #launch, can read it" >&2
  exit 1
fi
say carol "messages -c launch -> no such channel (she is not a member: not served, not readable)"
as bob send "typo: teh plan" >/dev/null
say bob "send \"typo: teh plan\""
wait_text "alice sees bob's typo" "teh plan" alice messages
typo=$(number_of bob "teh plan")
as bob delete "$typo" >/dev/null
say bob "delete $typo (gone from every replica's tables; a tombstone remains)"
welcome=$(number_of alice "Welcome to Acme")
as alice edit "$welcome" "Welcome to Acme, @bob and @carol! Plans are in #design now." >/dev/null
say alice "edit $welcome \"... Plans are in #design now.\""
seq 1 200000 >q3-plan.txt  # 1.2 MB: two chunks
as alice send-file q3-plan.txt -m "The Q3 plan, as a file" >/dev/null
say alice "send-file q3-plan.txt -m \"The Q3 plan, as a file\" (chunked, encrypted; the message carries its reference)"
wait_text "bob sees alice's file" "q3-plan.txt" bob files
fid=$(as bob files | grep -F q3-plan.txt | cut -d' ' -f1 | head -1)
as bob save-file "$fid" q3-plan-bob.txt >/dev/null
if ! cmp -s q3-plan.txt q3-plan-bob.txt; then
  echo "demo: bob's copy of q3-plan.txt differs from alice's" >&2
  exit 1
fi
say bob "files -> $fid q3-plan.txt; save-file $fid q3-plan-bob.txt (fetched from alice's daemon; cmp: same bytes)"
wait_text "carol sees the edit" "#design now" carol messages
wait_text "carol sees the delete" "(deleted)" carol messages
wait_text "carol sees #design" "#design" carol channels
wait_text "alice sees bob's reply" "1 reply" alice view
wait_text "alice sees carol's reaction" "🎉" alice view
for who in alice bob carol; do
  echo "--- $who: topo view ---"
  as "$who" view | sed 's/^/  /'
done
as carol search mockups | sed 's/^/  carol: search mockups -> /' | head -2

section "carol is removed; a new key epoch starts"
as alice remove carol --bar >/dev/null
say alice "remove carol --bar (new epoch, sealed to alice's two devices and bob's only)"
as alice object update "$plan" --field title set "Q3 plan (final)" >/dev/null
say alice "plan.title set \"Q3 plan (final)\""
wait_for "bob reads the new title" "Q3 plan (final)" bob title object show "$plan"
say bob "reads: \"Q3 plan (final)\""
sleep 1
expect_eq "carol reads nothing new" "$(as carol --json object show "$plan" | json_field title)" "Q3 plan"
say carol "reads: \"Q3 plan\" (disconnected, and the new title is sealed under a key she never gets)"
as carol object update "$plan" --field title set "carol was here" >/dev/null 2>&1 || true
sleep 1
expect_eq "carol's write reaches nobody" "$(as alice --json object show "$plan" | json_field title)" "Q3 plan (final)"
say carol "writes \"carol was here\": no member's daemon takes it"
as alice rotate >/dev/null
say alice "rotate (another new epoch)"
as alice object update "$plan" --field count add 1 >/dev/null
wait_for "bob follows" 5 bob count object show "$plan"
expect_eq "alice and bob agree" "$(as alice --json object show "$plan")" "$(as bob --json object show "$plan")"
echo "alice and bob hold the same plan, live; carol holds only what she was allowed to read"
