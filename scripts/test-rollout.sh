#!/usr/bin/env bash
# Tests the rollout (ansible/, packaging/) and writes build/test-results/rollout.xml (JUnit,
# one testcase per check). Exit 1 when a check failed.
#
#   bash scripts/test-rollout.sh                          # static: lint, syntax, variable checks (< 60 s)
#   SLUICE_ROLLOUT_APPLY=1 bash scripts/test-rollout.sh   # and a real apply (as root, a few minutes)
#
# The real apply builds the .deb, makes a Debian 12 root with debootstrap (cached under
# build/rollout/), applies ansible/site.yml to it through Ansible's chroot connection and checks
# what landed. Whatever needs /proc, /sys or /dev in the root (sluiced, systemd-analyze) runs in
# its own mount and network namespace, so its mounts vanish with it, also on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
source_root=$PWD

results=build/test-results
mkdir -p "$results"
work=$(mktemp -d)
root=""
cleanup() {
  # Nothing is mounted in this namespace; this only catches what an interrupted run left.
  if [ -n "$root" ] && [ -d "$root" ]; then
    findmnt -rn -o TARGET | grep -F "$root/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- JUnit bookkeeping --------------------------------------------------------------------
failed=0
record() {  # record NAME STATUS(pass|fail|skip) SECONDS LOGFILE
  local n
  n=$(printf '%03d' "$(find "$work" -maxdepth 1 -name '*.case' | wc -l)")
  printf '%s\n%s\n%s\n%s\n' "$1" "$2" "$3" "$4" > "$work/$n.case"
  case $2 in
    pass) echo "PASS  $1" ;;
    skip) echo "SKIP  $1" ;;
    *) echo "FAIL  $1"; failed=1; tail -n 25 "$4" | sed 's/^/      /' ;;
  esac
}
elapsed() { awk -v start="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "%.2f", now - start }'; }
check() {  # check NAME COMMAND...: one testcase, passed when COMMAND exits 0
  local name=$1 log start status
  shift
  log="$work/log.$(date +%s%N)"
  start=$(date +%s.%N)
  "$@" > "$log" 2>&1
  status=$?
  record "$name" "$([ $status -eq 0 ] && echo pass || echo fail)" "$(elapsed "$start")" "$log"
  return $status
}
write_junit() {
  /usr/bin/python3 - "$work" "$results/rollout.xml" <<'EOF'
import pathlib, sys
import xml.etree.ElementTree as ET
work, out = pathlib.Path(sys.argv[1]), sys.argv[2]
suite = ET.Element("testsuite", name="rollout")
counts = {"pass": 0, "fail": 0, "skip": 0}
for case_file in sorted(work.glob("*.case")):
    name, status, seconds, log = case_file.read_text().split("\n")[:4]
    counts[status] += 1
    case = ET.SubElement(suite, "testcase", classname="rollout", name=name, time=f"{float(seconds):.2f}")
    text = pathlib.Path(log).read_text(errors="replace")[-4000:] if pathlib.Path(log).exists() else ""
    if status == "fail":
        ET.SubElement(case, "failure", message=name).text = text
    elif status == "skip":
        ET.SubElement(case, "skipped", message=text.strip())
suite.set("tests", str(sum(counts.values())))
suite.set("failures", str(counts["fail"]))
suite.set("skipped", str(counts["skip"]))
ET.ElementTree(suite).write(out, encoding="unicode", xml_declaration=True)
print(f"rollout: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped -> {out}")
EOF
}

export ANSIBLE_CONFIG=$source_root/ansible/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
playbook() { (cd ansible && ansible-playbook "$@"); }

# expect_refusal MESSAGE ARGS...: the variable checks stop the play with MESSAGE, before any host.
expect_refusal() {
  local message=$1 output
  shift
  output=$(SLUICE_CHROOT=/nonexistent playbook -i inventories/chroot-test site.yml -e sluice_package_deb= "$@" 2>&1)
  echo "$output"
  ! grep -q '^PLAY \[Roll Sluice out' <<< "$output" && grep -qF -- "$message" <<< "$output"
}

# The management NIC guard alone, against this machine in check mode (ansible/tests/).
guard_run() { playbook -i localhost, -c local tests/management_nic_guard.yml --check "$@"; }
expect_guard_refusal() {  # expect_guard_refusal MESSAGE ARGS...
  local message=$1 output
  shift
  output=$(guard_run "$@" 2>&1)
  echo "$output"
  grep -q 'failed=1' <<< "$output" && grep -qF -- "$message" <<< "$output"
}
pci_netdev() {  # "IFACE PCI_ADDRESS" of the first kernel NIC on a PCI device, or nothing
  local link address
  for link in /sys/class/net/*; do
    address=$(readlink -f "$link/device" 2>/dev/null | grep -oE '[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]' | tail -n1)
    [ -n "$address" ] && { echo "$(basename "$link") $address"; return; }
  done
}
argument_specs_cover_defaults() {  # each role's spec names every default, with the same value
  /usr/bin/python3 - <<'EOF'
import pathlib, sys, yaml
failed = False
for role in sorted(pathlib.Path("ansible/roles").iterdir()):
    spec_file = role / "meta" / "argument_specs.yml"
    if not spec_file.exists():
        print(f"{role.name}: no meta/argument_specs.yml"); failed = True; continue
    options = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    for name, value in defaults.items():
        if name not in options:
            print(f"{role.name}: {name} has a default but no argument spec"); failed = True
        elif "{{" not in str(value) and value is not None and options[name].get("default") != value:
            print(f"{role.name}: {name}: spec default {options[name].get('default')!r} != {value!r}"); failed = True
    print(f"{role.name}: {len(options)} options, {len(defaults)} defaults")
sys.exit(1 if failed else 0)
EOF
}

# --- (a) static checks ----------------------------------------------------------------------
tools_present() {
  local tool missing=0
  for tool in ansible-playbook ansible-lint; do
    command -v "$tool" || { echo "$tool missing: run scripts/bootstrap.sh (Debian's ansible, ansible-lint)"; missing=1; }
  done
  return $missing
}
if check "tools: ansible and ansible-lint installed" tools_present; then
  check "ansible-lint (production profile) is clean" bash -c 'cd ansible && ansible-lint --offline'
  for inventory in azure-hub bare-metal chroot-test; do
    check "syntax-check site.yml with inventory $inventory" \
      playbook --syntax-check -i "inventories/$inventory" site.yml
    # -e ansible_connection=local: the role argument checks Ansible adds to the second play
    # (tagged always) run as actions on the controller too; nothing reaches a host.
    check "inventory $inventory passes the variable checks" \
      playbook -i "inventories/$inventory" site.yml --tags validate -e sluice_package_deb= \
      -e ansible_connection=local
  done
  check "every role has meta/argument_specs.yml naming each of its defaults" argument_specs_cover_defaults
  check "argument specs refuse a wrong type (sluice_hugepages: lots)" expect_refusal \
    "argument 'sluice_hugepages' is of type" -e sluice_hugepages=lots
  check "argument specs refuse an unknown choice (sluice_port_driver: igb_uio)" expect_refusal \
    "value of sluice_port_driver must be one of: vfio-pci, uio_hv_generic, none" -e sluice_port_driver=igb_uio
  check "variable checks refuse a drain without the admin socket" expect_refusal \
    'sluice_admin_socket is empty (the socket is off)' -e sluice_admin_socket= -e sluice_drain_seconds=15
  check "management NIC guard refuses the default route's NIC (--check, localhost)" expect_guard_refusal \
    "is lo, the management NIC (the default IPv4 route)" \
    -e '{"sluice_ports": [{"role": "INSIDE", "device": "net_af_packet0,iface=lo"}, {"role": "OUTSIDE", "device": "net_null0"}],
         "ansible_default_ipv4": {"interface": "lo"}, "ansible_default_ipv6": {}}'
  check "management NIC guard refuses the NIC of the SSH connection's address" expect_guard_refusal \
    "is lo, the management NIC (it carries this SSH connection (127.0.0.1))" \
    -e '{"sluice_ports": [{"role": "INSIDE", "device": "net_af_packet0,iface=lo"}, {"role": "OUTSIDE", "device": "net_null0"}],
         "ansible_default_ipv4": {"interface": "mgmt0"}, "ansible_default_ipv6": {},
         "ansible_env": {"SSH_CONNECTION": "198.18.0.9 50000 127.0.0.1 22"}}'
  check "management NIC guard refuses the NIC named in sluice_management_interfaces" expect_guard_refusal \
    "is lo, the management NIC (listed in sluice_management_interfaces)" \
    -e '{"sluice_ports": [{"role": "INSIDE", "device": "net_af_packet0,iface=lo"}, {"role": "OUTSIDE", "device": "net_null0"}],
         "ansible_default_ipv4": {"interface": "mgmt0"}, "ansible_default_ipv6": {}, "sluice_management_interfaces": ["lo"]}'
  check "management NIC guard passes ports that are not the management NIC" \
    guard_run -e '{"sluice_ports": [{"role": "INSIDE", "device": "net_af_packet0,iface=lo"}, {"role": "OUTSIDE", "device": "net_null0"}],
         "ansible_default_ipv4": {"interface": "mgmt0"}, "ansible_default_ipv6": {}}'
  # A PCI address (bare metal, vfio-pci) is matched through sysfs: this machine's first NIC on a
  # PCI device, named as the management NIC.
  pci_nic=$(pci_netdev)
  if [ -n "$pci_nic" ]; then
    read -r pci_if pci_address <<< "$pci_nic"
    check "management NIC guard refuses a PCI address whose NIC is the management NIC ($pci_address = $pci_if)" \
      expect_guard_refusal "is $pci_if, the management NIC" \
      -e "{\"sluice_ports\": [{\"role\": \"INSIDE\", \"device\": \"$pci_address\"}, {\"role\": \"OUTSIDE\", \"device\": \"net_null0\"}],
           \"ansible_default_ipv4\": {\"interface\": \"$pci_if\"}}"
  else
    echo "no NIC on a PCI device here" > "$work/nopci.log"
    record "management NIC guard refuses a PCI address whose NIC is the management NIC" skip 0 "$work/nopci.log"
  fi
  check "variable checks refuse missing ports" expect_refusal \
    "sluice_ports has 0 OUTSIDE port(s); exactly one is needed" \
    -e '{"sluice_ports": [{"role": "INSIDE", "device": "net_null0"}]}'
  check "variable checks refuse a bad CIDR" expect_refusal \
    "sluice_policy.attachments[0].source_cidr: '198.18.300.0/24' is not a CIDR" \
    -e '{"sluice_policy": {"policies": [{"name": "p", "access_mode": "FULL"}], "default_policy": "p",
         "attachments": [{"source_cidr": "198.18.300.0/24", "policy": "p"}]}}'
  check "variable checks refuse a vfio-pci port without a PCI address" expect_refusal \
    "vfio-pci binds a PCI address" -e sluice_port_driver=vfio-pci
  check "variable checks refuse a route whose next hop is off the port's prefixes" expect_refusal \
    "sluice_routing.routes[0].via: 198.19.0.1 is in none of the OUTSIDE port's prefixes" \
    -e '{"sluice_ports": [{"role": "INSIDE", "device": "net_null0", "addresses": ["198.18.1.4/24"]},
                          {"role": "OUTSIDE", "device": "net_null1", "addresses": ["198.18.2.4/24"]}],
         "sluice_routing": {"mode": "ROUTED", "routes": [{"prefix": "0.0.0.0/0", "via": "198.19.0.1", "port": "OUTSIDE"}]}}'
  check "variable checks refuse addresses on a bridge's ports" expect_refusal \
    "sluice_ports[0].addresses: a bridge has no addresses" \
    -e '{"sluice_ports": [{"role": "INSIDE", "device": "net_null0", "addresses": ["198.18.1.4/24"]},
                          {"role": "OUTSIDE", "device": "net_null1"}]}'
  check "variable checks refuse SNAT on a route without SNAT addresses" expect_refusal \
    "a route has snat: true but sluice_routing.snat.addresses is empty" \
    -e '{"sluice_ports": [{"role": "INSIDE", "device": "net_null0", "addresses": ["198.18.1.4/24"]},
                          {"role": "OUTSIDE", "device": "net_null1", "addresses": ["198.18.2.4/24"]}],
         "sluice_routing": {"mode": "ROUTED", "routes": [{"prefix": "0.0.0.0/0", "via": "198.18.2.1", "port": "OUTSIDE", "snat": true}]}}'
fi

# --- (b) a real apply to a debootstrapped Debian 12 root -----------------------------------
apply_to_root() {  # apply_to_root LOG [ansible-playbook args]: applies site.yml to the root
  local log=$1
  shift
  SLUICE_CHROOT=$root SLUICE_DEB=$deb playbook -i inventories/chroot-test site.yml "$@" > "$log" 2>&1
  local status=$?
  cat "$log"
  # Kept for reading after the run: build/rollout/logs/apply*.log
  mkdir -p build/rollout/logs && cp "$log" build/rollout/logs/
  return $status
}
recap_changed() { sed -n 's/^sluice-chroot *: .*changed=\([0-9]*\).*/\1/p' "$1" | tail -n1; }
task_result() {  # task_result LOG "TASK TITLE": ok, changed, skipping, ... of that task's first run
  awk -v title="TASK [$2]" 'index($0, title) == 1 { found = 1; next }
    found && /^(ok|changed|skipping|fatal|failed): / { sub(/:.*/, ""); print; exit }' "$1"
}
in_root() {  # in_root COMMAND...: COMMAND chrooted into the root with /proc, /sys and /dev
  unshare --mount --net --fork --propagation private /bin/sh -c '
    root=$1; shift
    ip link set lo up
    mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" && mount --rbind /dev "$root/dev" &&
      exec chroot "$root" "$@"' sh "$root" "$@"
}

make_root() {  # a fresh root from the cached debootstrap tarball (made once, ~2 min)
  local cache=build/rollout/bookworm-minbase.tar
  mkdir -p build/rollout
  if [ ! -f "$cache" ]; then
    rm -rf build/rollout/debootstrap
    debootstrap --variant=minbase --include=python3,python3-apt,systemd \
      bookworm build/rollout/debootstrap http://deb.debian.org/debian || return 1
    tar -C build/rollout/debootstrap --numeric-owner -cf "$cache.tmp" . && mv "$cache.tmp" "$cache" || return 1
    rm -rf build/rollout/debootstrap
  fi
  if findmnt -rn -o TARGET | grep -qF "$root/"; then
    echo "something is still mounted under $root; not removing it"
    return 1
  fi
  rm -rf "$root" && mkdir -p "$root" && tar -C "$root" --numeric-owner -xf "$cache" || return 1
  # Packages downloaded by earlier runs, so apt does not fetch them again.
  cp build/rollout/apt-archives/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The demo traffic for the pcap ports of the test inventory.
  mkdir -p "$root/var/lib/sluice-test"
  cp configs/demo/demo.pcap configs/demo/empty.pcap "$root/var/lib/sluice-test/"
}

package_installed() {
  local want
  want=$(dpkg-deb -f "$deb" Version)
  chroot "$root" dpkg-query -W -f='${Status} ${Version}\n' sluice | tee /dev/stderr |
    grep -qx "install ok installed $want"
}
configs_rendered() (
  set -e
  grep -F 'device: "net_pcap0,rx_pcap=/var/lib/sluice-test/demo.pcap' "$root/etc/sluice/appliance.textproto"
  grep -Fx 'role: OUTSIDE' <(sed 's/^ *//' "$root/etc/sluice/appliance.textproto")
  grep -F 'appliance_name: "sluice-chroot"' "$root/etc/sluice/appliance.textproto"
  grep -F 'source_label: "spark-staging"' "$root/etc/sluice/policy.textproto"
  cmp "$root/etc/sluice/policy.textproto" "$root/var/lib/sluice/policy.candidate.textproto"
  chroot "$root" sluicectl validate /etc/sluice/policy.textproto
  grep -Fx 'vm.nr_hugepages = 512' "$root/etc/sysctl.d/80-sluice-hugepages.conf"
)
unit_valid() (
  set -e
  test -f "$root/usr/lib/systemd/system/sluice.service"
  grep -Fx 'ExecReload=/usr/bin/sluicectl reload --socket /run/sluice/sluiced.sock' "$root/usr/lib/systemd/system/sluice.service"
  test -L "$root/etc/systemd/system/multi-user.target.wants/sluice.service"
  # Inside the root, so ExecStart's /usr/bin/sluiced is the packaged binary.
  # verify runs `man` for each Documentation= page; a minbase root has no man-db to run it.
  out=$(in_root systemd-analyze verify /usr/lib/systemd/system/sluice.service 2>&1 | grep -v "Command 'man ") || true
  echo "${out:-systemd-analyze verify: no findings}"
  [ -z "$out" ]
)
sluiced_runs() (  # the packaged sluiced, the rendered config, the demo traffic
  set -e
  rm -f "$root/var/log/sluice/denials.jsonl"
  in_root timeout 60 sluiced --config /etc/sluice/appliance.textproto
  echo "denial records:"
  cat "$root/var/log/sluice/denials.jsonl"
  grep -q '"access_type": *"DROP"' "$root/var/log/sluice/denials.jsonl"
  grep -q '"access_type": *"DRY_RUN_DENIAL"' "$root/var/log/sluice/denials.jsonl"
)
second_apply_idempotent() {
  apply_to_root "$work/apply2.log" || return 1
  echo "changed=$(recap_changed "$work/apply2.log")"
  [ "$(recap_changed "$work/apply2.log")" = 0 ]
}
policy_change_reloads() {  # a policy-only change notifies the reload handler, not the restart
  local policy
  policy=$(/usr/bin/python3 -c '
import sys, yaml, json
group = yaml.safe_load(open("ansible/inventories/chroot-test/group_vars/sluice_appliances.yml"))
group["sluice_policy"]["policies"][1]["allowed_domains"].append("files.pythonhosted.org")
print(json.dumps({"sluice_policy": group["sluice_policy"]}))')
  apply_to_root "$work/apply3.log" -e "$policy" || return 1
  grep -F 'files.pythonhosted.org' "$root/etc/sluice/policy.textproto" &&
    grep -q 'RUNNING HANDLER \[sluice_service : Reload the sluice policy\]' "$work/apply3.log" &&
    ! grep -q 'RUNNING HANDLER \[sluice_service : Restart sluice\]' "$work/apply3.log" &&
    [ "$(task_result "$work/apply3.log" 'sluice_config : Render the appliance config')" = ok ] &&
    [ "$(task_result "$work/apply3.log" 'sluice_config : Replace the live policy')" = changed ]
}
policy_with() {  # the chroot inventory's policy, one name added to its second policy, as -e JSON
  /usr/bin/python3 -c '
import sys, yaml, json
group = yaml.safe_load(open("ansible/inventories/chroot-test/group_vars/sluice_appliances.yml"))
group["sluice_policy"]["policies"][1]["allowed_domains"].append(sys.argv[1])
print(json.dumps({"sluice_policy": group["sluice_policy"]}))' "$1"
}
check_mode_diffs_and_validates() {  # --check --diff: the diff against the live policy, checked on the target
  local before
  before=$(sha256sum < "$root/etc/sluice/policy.textproto")
  apply_to_root "$work/check1.log" --check --diff -e "$(policy_with checkmode.example.org)" || return 1
  grep -qF '+  allowed_domains: "checkmode.example.org"' "$work/check1.log" &&
    [ "$(task_result "$work/check1.log" 'sluice_config : Validate the policy candidate with sluicectl')" = ok ] &&
    [ "$(task_result "$work/check1.log" 'sluice_config : Check the appliance config candidate with sluiced --check-config')" = ok ] &&
    [ "$(task_result "$work/check1.log" 'sluice_config : Replace the live policy')" = changed ] &&
    [ "$(sha256sum < "$root/etc/sluice/policy.textproto")" = "$before" ]
}
check_mode_refuses_bad_policy() {  # the target's sluicectl refuses in check mode too
  local before
  before=$(sha256sum < "$root/etc/sluice/policy.textproto")
  ! apply_to_root "$work/check2.log" --check -e '{"sluice_policy": {"policies": [{"name": "p", "access_mode": "RESTRICTED",
      "allowed_domains": ["*.com"]}], "default_policy": "p"}}' &&
    grep -q 'sluicectl refused the policy' "$work/check2.log" &&
    [ "$(sha256sum < "$root/etc/sluice/policy.textproto")" = "$before" ]
}
upgrade_restart_deferred() {  # the role's policy-rc.d forbids sluice.service only, and is gone after
  ! test -e "$root/usr/sbin/policy-rc.d" &&
    grep -q 'Defer the package' "$work/apply1.log" &&
    grep -q 'sluice_install : Remove our policy-rc.d' "$work/apply1.log" &&
    grep -q 'RUNNING HANDLER \[sluice_service : Restart sluice\]' "$work/apply1.log"
}
bad_policy_refused() {  # passes the controller's checks, fails sluicectl on the target
  local before
  before=$(sha256sum < "$root/etc/sluice/policy.textproto")
  ! apply_to_root "$work/apply4.log" -e '{"sluice_policy": {"policies": [{"name": "p", "access_mode": "RESTRICTED",
      "allowed_domains": ["*.com"]}], "default_policy": "p"}}' &&
    grep -q 'sluicectl refused the policy' "$work/apply4.log" &&
    [ "$(sha256sum < "$root/etc/sluice/policy.textproto")" = "$before" ]
}

if [ "${SLUICE_ROLLOUT_APPLY:-0}" != 1 ]; then
  echo "real apply not run (it needs root and a few minutes): SLUICE_ROLLOUT_APPLY=1 bash scripts/test-rollout.sh" > "$work/skip.log"
  record "real apply to a debootstrapped Debian 12 root" skip 0 "$work/skip.log"
elif [ "$(id -u)" -ne 0 ]; then
  echo "the real apply needs root (debootstrap, chroot, unshare)" > "$work/root.log"
  record "real apply to a debootstrapped Debian 12 root" fail 0 "$work/root.log"
else
  root=$source_root/build/rollout/root
  deb=""
  # check runs a function in this shell, so $deb stays set for the checks after it.
  build_deb() { deb=$(bash scripts/build-deb.sh) && echo "$deb"; }
  check "the .deb builds (scripts/build-deb.sh)" build_deb
  if [ -n "$deb" ] && check "debootstrap a Debian 12 minbase root (cached in build/rollout)" make_root &&
     check "first apply of site.yml through the chroot connection" apply_to_root "$work/apply1.log"; then
    mkdir -p build/rollout/apt-archives
    cp "$root"/var/cache/apt/archives/*.deb build/rollout/apt-archives/ 2>/dev/null || true
    check "package installed at the built version" package_installed
    check "appliance config, policy and hugepages rendered; live policy valid" configs_rendered
    check "unit file present, enabled and clean under systemd-analyze verify" unit_valid
    check "packaged sluiced runs the rendered config over the demo traffic" sluiced_runs
    check "second apply changes nothing (changed=0)" second_apply_idempotent
    check "a policy-only change reloads, not restarts" policy_change_reloads
    check "a policy sluicectl refuses on the target leaves the live one" bad_policy_refused
    check "--check --diff shows the live policy's diff and validates on the target, changing nothing" \
      check_mode_diffs_and_validates
    check "--check refuses a policy the target's sluicectl refuses" check_mode_refuses_bad_policy
    check "the package install notifies the restart handler; the policy-rc.d guard is removed" \
      upgrade_restart_deferred
  fi
fi

write_junit
exit $failed
