"""Filters of the sluice_host role: which device a port binds, and what is wrong with the
binding variables, in messages that name the variable so an operator can fix the inventory."""
import re

PCI_ADDRESS = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")
VMBUS_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DRIVERS = {"vfio-pci": PCI_ADDRESS, "uio_hv_generic": VMBUS_ID, "none": None}


def sluice_bind_id(port):
    """The device driverctl rebinds: bind_id, else the EAL device string itself."""
    if not isinstance(port, dict):
        return ""
    return str(port.get("bind_id") or port.get("device") or "")


def sluice_binding_errors(ports, driver, hugepages):
    errors = []
    if driver not in DRIVERS:
        return [f"sluice_port_driver is {driver!r}; expected one of {', '.join(sorted(DRIVERS))}"]
    try:
        if int(hugepages) < 0:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(f"sluice_hugepages is {hugepages!r}; expected a count of 2 MiB pages (0 or more)")
    if not isinstance(ports, list) or not ports:
        errors.append("sluice_ports is empty; list the INSIDE and the OUTSIDE port")
        return errors
    pattern = DRIVERS[driver]
    if pattern is None:
        return errors
    what = "a PCI address like 0000:3b:00.0" if driver == "vfio-pci" else "a VMBus device id (a UUID)"
    for index, port in enumerate(ports):
        bind_id = sluice_bind_id(port)
        if not pattern.match(bind_id):
            errors.append(
                f"sluice_ports[{index}]: {driver} binds {what}, but this port's "
                f"{'bind_id' if isinstance(port, dict) and port.get('bind_id') else 'device'} is {bind_id!r}; "
                "set bind_id, or sluice_port_driver: none for ports the kernel keeps")
    return errors


def _vdev_interface(device):
    """The kernel interface a vdev names in its arguments (net_af_packet0,iface=eth1), or ""."""
    for argument in str(device or "").split(",")[1:]:
        key, _, value = argument.partition("=")
        if key.strip() == "iface":
            return value.strip()
    return ""


def _addresses(facts, name):
    """Every address the interface facts give `name` (IPv4, its secondaries, IPv6)."""
    data = facts.get(name.replace("-", "_").replace(".", "_")) or facts.get(name) or {}
    if not isinstance(data, dict):
        return set()
    found = set()
    for entry in [data.get("ipv4")] + list(data.get("ipv4_secondaries") or []) + list(data.get("ipv6") or []):
        if isinstance(entry, dict) and entry.get("address"):
            found.add(str(entry["address"]).split("%")[0])
    return found


def sluice_management_interfaces(facts, default_ipv4, default_ipv6, ssh_connection, extra=()):
    """{interface: why it is the management NIC}: the interfaces of the default routes, the one
    holding the address this SSH connection reached (SSH_CONNECTION's third field), and any the
    inventory lists in sluice_management_interfaces."""
    facts = facts if isinstance(facts, dict) else {}
    found = {}

    def add(name, why):
        if name:
            found.setdefault(str(name), []).append(why)

    for route, label in ((default_ipv4, "the default IPv4 route"), (default_ipv6, "the default IPv6 route")):
        if isinstance(route, dict):
            add(route.get("interface"), label)
    fields = str(ssh_connection or "").split()
    if len(fields) >= 3:
        server = fields[2].split("%")[0]
        for name in facts.get("interfaces") or []:
            if server in _addresses(facts, str(name)):
                add(name, f"it carries this SSH connection ({server})")
    for name in extra or []:
        add(name, "listed in sluice_management_interfaces")
    return {name: "; ".join(why) for name, why in found.items()}


def sluice_management_nic_errors(ports, netdev_links, management):
    """Messages for every port whose kernel interface is a management NIC. `netdev_links`: lines
    "NAME TARGET" of /sys/class/net's links; a port is the interface whose device path holds its
    bind id (a PCI address, also of a virtio NIC below it, or a VMBus id) or the interface its vdev
    names (iface=)."""
    errors = []
    if not isinstance(ports, list):
        return errors
    links = []
    for line in netdev_links or []:
        name, _, target = str(line).partition(" ")
        if name:
            links.append((name, "/" + target.strip().strip("/") + "/"))
    for index, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        bind_id = sluice_bind_id(port)
        names = {name for name, path in links if bind_id and f"/{bind_id}/" in path}
        vdev = _vdev_interface(port.get("device"))
        if vdev:
            names.add(vdev)
        for name in sorted(names & set(management or {})):
            errors.append(
                f"sluice_ports[{index}] ({port.get('role', '?')}, device {port.get('device')!r}) is {name}, "
                f"the management NIC ({management[name]}). Giving it to DPDK would cut this host off "
                "from SSH, Ansible, metrics and health probes; refusing. Give the port another NIC.")
    return errors


class FilterModule:
    def filters(self):
        return {"sluice_bind_id": sluice_bind_id, "sluice_binding_errors": sluice_binding_errors,
                "sluice_management_interfaces": sluice_management_interfaces,
                "sluice_management_nic_errors": sluice_management_nic_errors}
