"""Checks of the sluice_config role's variables before anything is rendered.

sluicectl validate on the target stays the authority on a policy (domain patterns, public
suffixes, overlaps); these checks catch, on the controller and for every host before any is
touched, what inventories get wrong most: missing ports, bad CIDRs and addresses, names that do
not resolve, and misspelt keys that the template would otherwise silently drop.
"""
import ipaddress
import json
import re

PORT_KEYS = {"role", "device", "bind_id", "addresses", "mtu"}
POLICY_SET_KEYS = {"name", "policies", "attachments", "default_policy", "default_source_label",
                   "tls_ports", "http_ports"}
POLICY_KEYS = {"name", "access_mode", "enforcement", "allowed_domains", "allowed_networks", "dns_resolvers",
               "resolvable_names", "dns_reverse_lookups", "dns_denial", "allow_unbound_names"}
DNS_DENIALS = {"DNS_DENIAL_NXDOMAIN", "DNS_DENIAL_REFUSED", "DNS_DENIAL_DROP"}
NETWORK_KEYS = {"cidr", "protocol", "ports", "description"}
ATTACHMENT_KEYS = {"source_cidr", "policy", "source_label", "enforcement_override"}
ACCESS_MODES = {"FULL", "RESTRICTED"}
ENFORCEMENTS = {"ENFORCE", "DRY_RUN"}
PROTOCOLS = {"PROTOCOL_ANY", "TCP", "UDP", "ICMP"}
POLICY_NAME = re.compile(r"^[a-z0-9_.-]+$")
PORT_RANGE = re.compile(r"^([0-9]{1,5})(?:-([0-9]{1,5}))?$")


def _unknown_keys(value, known, where, errors):
    if not isinstance(value, dict):
        errors.append(f"{where}: expected a mapping, got {value!r}")
        return False
    for key in sorted(set(value) - known):
        errors.append(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    return True


def _list(value, where, errors):
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"{where}: expected a list, got {value!r}")
        return []
    return value


def _cidr(value, where, errors):
    text = str(value)
    try:
        if "/" not in text:
            raise ValueError("no /prefix length")
        ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        errors.append(f"{where}: {text!r} is not a CIDR like 198.18.1.0/24 or 2001:db8:1::/48 ({error})")


def _address(value, where, errors):
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        errors.append(f"{where}: {value!r} is not an IPv4 or IPv6 address")


def _interface(value, where, errors):
    """An own address with its connected prefix: 198.18.1.4/24 (host bits set, unlike a CIDR)."""
    text = str(value)
    try:
        if "/" not in text:
            raise ValueError("no /prefix length")
        ipaddress.ip_interface(text)
    except ValueError as error:
        errors.append(f"{where}: {text!r} is not an address with its prefix like 198.18.1.4/24 ({error})")


def _choice(value, choices, where, errors):
    if value is not None and value not in choices:
        errors.append(f"{where}: {value!r} is not one of {', '.join(sorted(choices))}")


def sluice_port_errors(ports):
    """Exactly one INSIDE and one OUTSIDE port, each with an EAL device string."""
    errors = []
    ports = _list(ports, "sluice_ports", errors)
    if not ports:
        return errors + ["sluice_ports is empty; list one INSIDE and one OUTSIDE port, "
                         "e.g. {role: INSIDE, device: '0000:3b:00.0'}"]
    for index, port in enumerate(ports):
        where = f"sluice_ports[{index}]"
        if not _unknown_keys(port, PORT_KEYS, where, errors):
            continue
        if not str(port.get("device") or "").strip():
            errors.append(f"{where}: device is missing (a PCI address, VMBus id or DPDK vdev string)")
        _choice(port.get("role"), {"INSIDE", "OUTSIDE"}, f"{where}.role", errors)
        for address_index, address in enumerate(_list(port.get("addresses"), f"{where}.addresses", errors)):
            _interface(address, f"{where}.addresses[{address_index}]", errors)
        mtu = port.get("mtu")
        if mtu is not None and (not isinstance(mtu, int) or not 576 <= mtu <= 9000):
            errors.append(f"{where}.mtu: {mtu!r} is not an MTU from 576 to 9000")
    roles = [port.get("role") for port in ports if isinstance(port, dict)]
    for role in ("INSIDE", "OUTSIDE"):
        if roles.count(role) != 1:
            errors.append(f"sluice_ports has {roles.count(role)} {role} port(s); exactly one is needed")
    return errors


def sluice_address_errors(address, variable):
    """HOST:PORT, [IPv6]:PORT, or "" (off); None means sluiced's default."""
    if address is None or address == "":
        return []
    match = re.match(r"^(\[[^\]]+\]|[^:\[\]]+):([0-9]{1,5})$", str(address))
    if not match or not 0 < int(match.group(2)) < 65536:
        return [f"{variable} is {address!r}; expected HOST:PORT such as 127.0.0.1:9617 or [2001:db8::1]:9617"]
    return []


def _policy_errors(policy, where, errors):
    if not _unknown_keys(policy, POLICY_KEYS, where, errors):
        return None
    name = policy.get("name")
    if not name or not POLICY_NAME.match(str(name)):
        errors.append(f"{where}.name: {name!r} is not a policy name ([a-z0-9_.-]+)")
    _choice(policy.get("access_mode"), ACCESS_MODES, f"{where}.access_mode", errors)
    if policy.get("access_mode") is None:
        errors.append(f"{where}.access_mode is missing (FULL or RESTRICTED)")
    _choice(policy.get("enforcement"), ENFORCEMENTS, f"{where}.enforcement", errors)
    for index, domain in enumerate(_list(policy.get("allowed_domains"), f"{where}.allowed_domains", errors)):
        if not isinstance(domain, str) or not domain:
            errors.append(f"{where}.allowed_domains[{index}]: {domain!r} is not a domain pattern")
    for index, rule in enumerate(_list(policy.get("allowed_networks"), f"{where}.allowed_networks", errors)):
        rule_where = f"{where}.allowed_networks[{index}]"
        if not _unknown_keys(rule, NETWORK_KEYS, rule_where, errors):
            continue
        _cidr(rule.get("cidr"), f"{rule_where}.cidr", errors)
        _choice(rule.get("protocol"), PROTOCOLS, f"{rule_where}.protocol", errors)
        for port_index, ports in enumerate(_list(rule.get("ports"), f"{rule_where}.ports", errors)):
            match = PORT_RANGE.match(str(ports))
            if not match or not all(0 < int(p) < 65536 for p in match.groups() if p):
                errors.append(f"{rule_where}.ports[{port_index}]: {ports!r} is not a port or range like 443 or 8000-8100")
    for index, resolver in enumerate(_list(policy.get("dns_resolvers"), f"{where}.dns_resolvers", errors)):
        _address(resolver, f"{where}.dns_resolvers[{index}]", errors)
    for index, domain in enumerate(_list(policy.get("resolvable_names"), f"{where}.resolvable_names", errors)):
        if not isinstance(domain, str) or not domain:
            errors.append(f"{where}.resolvable_names[{index}]: {domain!r} is not a domain pattern")
    _choice(policy.get("dns_denial"), DNS_DENIALS, f"{where}.dns_denial", errors)
    for flag in ("dns_reverse_lookups", "allow_unbound_names"):
        if flag in policy and not isinstance(policy[flag], bool):
            errors.append(f"{where}.{flag}: {policy[flag]!r} is not true or false")
    return name


def sluice_policy_errors(policy_set):
    """The structured sluice_policy the role's template renders into a textproto."""
    errors = []
    if not policy_set:
        return ["sluice_policy is empty; set it (see roles/sluice_config/README.md) or point "
                "sluice_policy_template at a policy file"]
    if not _unknown_keys(policy_set, POLICY_SET_KEYS, "sluice_policy", errors):
        return errors
    names = []
    policies = _list(policy_set.get("policies"), "sluice_policy.policies", errors)
    if not policies:
        errors.append("sluice_policy.policies is empty; at least the default policy is needed")
    for index, policy in enumerate(policies):
        name = _policy_errors(policy, f"sluice_policy.policies[{index}]", errors)
        if name in names:
            errors.append(f"sluice_policy.policies[{index}].name: {name!r} is defined twice")
        names.append(name)
    default = policy_set.get("default_policy")
    if not default:
        errors.append("sluice_policy.default_policy is missing; it judges every source no attachment covers")
    elif default not in names:
        errors.append(f"sluice_policy.default_policy: {default!r} is not one of the policies ({', '.join(map(str, names))})")
    for index, attachment in enumerate(_list(policy_set.get("attachments"), "sluice_policy.attachments", errors)):
        where = f"sluice_policy.attachments[{index}]"
        if not _unknown_keys(attachment, ATTACHMENT_KEYS, where, errors):
            continue
        _cidr(attachment.get("source_cidr"), f"{where}.source_cidr", errors)
        if attachment.get("policy") not in names:
            errors.append(f"{where}.policy: {attachment.get('policy')!r} is not one of the policies ({', '.join(map(str, names))})")
        _choice(attachment.get("enforcement_override"), ENFORCEMENTS, f"{where}.enforcement_override", errors)
    for key in ("tls_ports", "http_ports"):
        for index, port in enumerate(_list(policy_set.get(key), f"sluice_policy.{key}", errors)):
            if not isinstance(port, int) or not 0 < port < 65536:
                errors.append(f"sluice_policy.{key}[{index}]: {port!r} is not a TCP port")
    return errors


ROUTING_KEYS = {"mode", "routes", "static_neighbours", "snat", "exception_port", "health_probe", "dns_forwarder",
                "neighbour_timers"}
ROUTE_KEYS = {"prefix", "via", "port", "snat"}
NEIGHBOUR_KEYS = {"address", "mac", "port"}
SNAT_KEYS = {"addresses", "port_min", "port_max", "quarantine_seconds"}
EXCEPTION_PORT_KEYS = {"device", "services"}
SERVICE_KEYS = {"protocol", "ports", "sources"}
MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def _connected(ports, role):
    """The connected prefixes of the port with `role`."""
    prefixes = []
    for port in ports or []:
        if isinstance(port, dict) and port.get("role") == role:
            for address in port.get("addresses") or []:
                try:
                    prefixes.append(ipaddress.ip_interface(str(address)).network)
                except ValueError:
                    pass
    return prefixes


def _on_link(address, ports, role, where, errors):
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        errors.append(f"{where}: {address!r} is not an IPv4 or IPv6 address")
        return
    if not any(ip.version == net.version and ip in net for net in _connected(ports, role)):
        errors.append(f"{where}: {address} is in none of the {role} port's prefixes (sluice_ports[].addresses)")


def sluice_routing_errors(routing, ports):
    """sluice_routing against proto/config.proto's Routing; sluiced --check-config has the last word."""
    errors = []
    routing = routing or {}
    if not _unknown_keys(routing, ROUTING_KEYS, "sluice_routing", errors):
        return errors
    mode = routing.get("mode", "BRIDGE")
    _choice(mode, {"BRIDGE", "ROUTED"}, "sluice_routing.mode", errors)
    port_list = [p for p in (ports or []) if isinstance(p, dict)]
    if mode == "BRIDGE":
        for index, port in enumerate(port_list):
            if port.get("addresses"):
                errors.append(f"sluice_ports[{index}].addresses: a bridge has no addresses; set sluice_routing.mode: ROUTED")
        return errors
    for role in ("INSIDE", "OUTSIDE"):
        if not _connected(port_list, role):
            errors.append(f"routed mode: the {role} port needs addresses (sluice_ports[].addresses: [198.18.1.4/24])")
    for index, route in enumerate(_list(routing.get("routes"), "sluice_routing.routes", errors)):
        where = f"sluice_routing.routes[{index}]"
        if not _unknown_keys(route, ROUTE_KEYS, where, errors):
            continue
        _cidr(route.get("prefix"), f"{where}.prefix", errors)
        _choice(route.get("port"), {"INSIDE", "OUTSIDE"}, f"{where}.port", errors)
        if route.get("port") in ("INSIDE", "OUTSIDE"):
            _on_link(route.get("via"), port_list, route["port"], f"{where}.via", errors)
        if "snat" in route and not isinstance(route["snat"], bool):
            errors.append(f"{where}.snat: {route['snat']!r} is not true or false")
    for index, neighbour in enumerate(_list(routing.get("static_neighbours"), "sluice_routing.static_neighbours", errors)):
        where = f"sluice_routing.static_neighbours[{index}]"
        if not _unknown_keys(neighbour, NEIGHBOUR_KEYS, where, errors):
            continue
        _choice(neighbour.get("port"), {"INSIDE", "OUTSIDE"}, f"{where}.port", errors)
        _address(neighbour.get("address"), f"{where}.address", errors)
        if not MAC.match(str(neighbour.get("mac", ""))):
            errors.append(f"{where}.mac: {neighbour.get('mac')!r} is not a MAC like 12:34:56:78:9a:bc")
    snat = routing.get("snat")
    if snat:
        if _unknown_keys(snat, SNAT_KEYS, "sluice_routing.snat", errors):
            for index, address in enumerate(_list(snat.get("addresses"), "sluice_routing.snat.addresses", errors)):
                _on_link(address, port_list, "OUTSIDE", f"sluice_routing.snat.addresses[{index}]", errors)
            low, high = snat.get("port_min", 1024), snat.get("port_max", 65535)
            if not (isinstance(low, int) and isinstance(high, int) and 1024 <= low <= high <= 65535):
                errors.append(f"sluice_routing.snat: ports {low!r}-{high!r} are not a range within 1024-65535")
    if any(isinstance(r, dict) and r.get("snat") for r in routing.get("routes") or []) and not (snat or {}).get("addresses"):
        errors.append("sluice_routing.routes: a route has snat: true but sluice_routing.snat.addresses is empty")
    exception = routing.get("exception_port")
    if exception and _unknown_keys(exception, EXCEPTION_PORT_KEYS, "sluice_routing.exception_port", errors):
        for index, service in enumerate(_list(exception.get("services"), "sluice_routing.exception_port.services", errors)):
            where = f"sluice_routing.exception_port.services[{index}]"
            if not _unknown_keys(service, SERVICE_KEYS, where, errors):
                continue
            _choice(service.get("protocol"), {"tcp", "udp", "icmp"}, f"{where}.protocol", errors)
            for port_index, port in enumerate(_list(service.get("ports"), f"{where}.ports", errors)):
                if not isinstance(port, int) or not 0 < port < 65536:
                    errors.append(f"{where}.ports[{port_index}]: {port!r} is not a port")
            for source_index, source in enumerate(_list(service.get("sources"), f"{where}.sources", errors)):
                _cidr(source, f"{where}.sources[{source_index}]", errors)
    return errors


ENUM_FIELDS = {"mode", "port"}  # Routing.mode, Route.port, StaticNeighbour.port


def _textproto_value(key, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if key in ENUM_FIELDS:
        return str(value)
    return json.dumps(str(value))


def _textproto_lines(message, indent):
    lines = []
    for key, value in message.items():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                lines.append(f"{indent}{key} {{")
                lines.extend(_textproto_lines(item, indent + "  "))
                lines.append(f"{indent}}}")
            elif item is not None:
                lines.append(f"{indent}{key}: {_textproto_value(key, item)}")
    return lines


def sluice_routing_textproto(routing):
    """sluice_routing as the `routing { ... }` block of the appliance config (text protobuf)."""
    return "\n".join(["routing {"] + _textproto_lines(routing, "  ") + ["}"])


class FilterModule:
    def filters(self):
        return {
            "sluice_port_errors": sluice_port_errors,
            "sluice_address_errors": sluice_address_errors,
            "sluice_policy_errors": sluice_policy_errors,
            "sluice_routing_errors": sluice_routing_errors,
            "sluice_routing_textproto": sluice_routing_textproto,
        }
