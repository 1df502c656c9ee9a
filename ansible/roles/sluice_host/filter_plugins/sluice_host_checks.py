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


class FilterModule:
    def filters(self):
        return {"sluice_bind_id": sluice_bind_id, "sluice_binding_errors": sluice_binding_errors}
