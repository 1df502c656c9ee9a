"""TLS ClientHello bytes, built by hand so a test controls every length and extension.

Only what the appliance reads is modelled: one TLS record holding one handshake message.
Everything is deterministic (fixed random, session id and key share).
"""

import struct

# Extension type numbers (IANA "TLS ExtensionType Values").
EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_ALPN = 0x0010
EXT_PADDING = 0x0015
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_KEY_SHARE = 0x0033
EXT_ENCRYPTED_CLIENT_HELLO = 0xFE0D

CIPHER_SUITES = (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030)
FIXED_RANDOM = bytes(range(0x20, 0x40))
FIXED_SESSION_ID = bytes(range(0x40, 0x60))
FIXED_X25519_KEY = bytes(range(0x60, 0x80))

RECORD_HEADER_LENGTH = 5
HANDSHAKE_HEADER_LENGTH = 4


def _u8(n):
    return struct.pack("!B", n)


def _u16(n):
    return struct.pack("!H", n)


def _u24(n):
    return struct.pack("!I", n)[1:]


def _vec8(data):
    return _u8(len(data)) + data


def _vec16(data):
    return _u16(len(data)) + data


def extension(ext_type, body):
    return _u16(ext_type) + _vec16(body)


def _as_bytes(name):
    return name if isinstance(name, bytes) else name.encode("ascii")


def server_name_ext(*names):
    """server_name with one host_name (type 0) entry per name; no names gives an empty list."""
    entries = b"".join(_u8(0) + _vec16(_as_bytes(n)) for n in names)
    return extension(EXT_SERVER_NAME, _vec16(entries))


def supported_versions_ext(versions=(0x0304, 0x0303)):
    return extension(EXT_SUPPORTED_VERSIONS, _vec8(b"".join(_u16(v) for v in versions)))


def alpn_ext(protocols=("h2", "http/1.1")):
    return extension(EXT_ALPN, _vec16(b"".join(_vec8(p.encode("ascii")) for p in protocols)))


def supported_groups_ext(groups=(0x001D, 0x0017, 0x0018)):
    return extension(EXT_SUPPORTED_GROUPS, _vec16(b"".join(_u16(g) for g in groups)))


def signature_algorithms_ext(algorithms=(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501)):
    return extension(EXT_SIGNATURE_ALGORITHMS, _vec16(b"".join(_u16(a) for a in algorithms)))


def key_share_ext():
    share = _u16(0x001D) + _vec16(FIXED_X25519_KEY)  # x25519
    return extension(EXT_KEY_SHARE, _vec16(share))


def ech_ext():
    """An outer encrypted_client_hello (draft-ietf-tls-esni, type 0xfe0d) with fixed bytes."""
    body = (_u8(0)                      # ECHClientHelloType outer
            + _u16(0x0001) + _u16(0x0001)  # HKDF-SHA256, AES-128-GCM
            + _u8(0x2A)                 # config_id
            + _vec16(bytes(range(0x80, 0xA0)))  # enc
            + _vec16(bytes(0xA5 for _ in range(64))))  # payload
    return extension(EXT_ENCRYPTED_CLIENT_HELLO, body)


def client_hello(sni="example.com", *, sni_names=None, alpn=("h2", "http/1.1"), ech=False,
                 versions=(0x0304, 0x0303), key_share=True, pad_to=None):
    """A whole TLS record carrying one ClientHello.

    sni: one server name (str or raw bytes), or None for no server_name extension.
    sni_names: a list of names, all put in one server_name extension (overrides sni).
    ech: add an encrypted_client_hello extension (the outer SNI stays `sni`).
    pad_to: add a padding extension so the whole record is exactly this many bytes.
    """
    extensions = []
    names = sni_names if sni_names is not None else ([sni] if sni is not None else None)
    if names is not None:
        extensions.append(server_name_ext(*names))
    extensions.append(supported_groups_ext())
    extensions.append(signature_algorithms_ext())
    if alpn:
        extensions.append(alpn_ext(alpn))
    if versions:
        extensions.append(supported_versions_ext(versions))
    if key_share:
        extensions.append(key_share_ext())
    if ech:
        extensions.append(ech_ext())

    def record(exts):
        body = (_u16(0x0303) + FIXED_RANDOM + _vec8(FIXED_SESSION_ID)
                + _vec16(b"".join(_u16(c) for c in CIPHER_SUITES))
                + _vec8(b"\x00")  # compression: null
                + _vec16(b"".join(exts)))
        handshake = _u8(1) + _u24(len(body)) + body
        return _u8(0x16) + _u16(0x0301) + _vec16(handshake)

    if pad_to is not None:
        unpadded = len(record(extensions))
        pad_length = pad_to - unpadded - 4  # 4: the padding extension's own header
        if pad_length < 0:
            raise ValueError(f"ClientHello is already {unpadded} bytes, cannot pad to {pad_to}")
        extensions.append(extension(EXT_PADDING, bytes(pad_length)))
    data = record(extensions)
    assert pad_to is None or len(data) == pad_to
    return data
