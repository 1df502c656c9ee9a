"""Checks of the sluice_config role's variables before anything is rendered.

sluicectl validate on the target stays the authority on a policy (domain patterns, public
suffixes, overlaps); these checks catch, on the controller and for every host before any is
touched, what inventories get wrong most: missing ports, bad CIDRs and addresses, names that do
not resolve, and misspelt keys that the template would otherwise silently drop.
"""
import ipaddress
import re

PORT_KEYS = {"role", "device", "bind_id"}
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


class FilterModule:
    def filters(self):
        return {
            "sluice_port_errors": sluice_port_errors,
            "sluice_address_errors": sluice_address_errors,
            "sluice_policy_errors": sluice_policy_errors,
        }
