"""QUIC client Initial packets as a client sends them (RFC 9000 17.2.2, RFC 9001 5), built with
Debian's python3-cryptography (HKDF-SHA256, AES-128-GCM, AES-128-ECB), independently of the C++
reader under test.

The key schedule is checked against RFC 9001 Appendix A.1 by `self_check()` (test_quic.py calls
it), so a wrong builder fails there and not as a mysterious verdict.
"""

import struct

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

V1 = 0x00000001
V2 = 0x6B3343CF
_SALT = {V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
         V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")}
_LABELS = {V1: (b"quic key", b"quic iv", b"quic hp"), V2: (b"quicv2 key", b"quicv2 iv", b"quicv2 hp")}
_INITIAL_TYPE_BITS = {V1: 0b00, V2: 0b01}  # RFC 9369 3.2 moved the Initial's type bits


def _hmac(key, data):
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def _expand_label(secret, label, length):
    """HKDF-Expand-Label (RFC 8446 7.1) with an empty context; every output fits one block."""
    full = b"tls13 " + label
    info = struct.pack("!H", length) + bytes([len(full)]) + full + b"\x00"
    return _hmac(secret, info + b"\x01")[:length]


def client_keys(dcid, version=V1):
    """(key, iv, hp) of the client's Initial packets for this Destination Connection ID."""
    initial_secret = _hmac(_SALT[version], dcid)  # HKDF-Extract
    client_secret = _expand_label(initial_secret, b"client in", 32)
    key_label, iv_label, hp_label = _LABELS[version]
    return (_expand_label(client_secret, key_label, 16), _expand_label(client_secret, iv_label, 12),
            _expand_label(client_secret, hp_label, 16))


def self_check():
    """RFC 9001 Appendix A.1's client keys for DCID 0x8394c8f03e515708."""
    key, iv, hp = client_keys(bytes.fromhex("8394c8f03e515708"))
    assert key.hex() == "1f369613dd76d5467730efcbe3b1a22d", key.hex()
    assert iv.hex() == "fa044b2f42a3fd3b46fb255c", iv.hex()
    assert hp.hex() == "9f50449e04a0e810283a1e9933adedd2", hp.hex()


def varint(value):
    if value < 0x40:
        return bytes([value])
    if value < 0x4000:
        return struct.pack("!H", 0x4000 | value)
    if value < 0x40000000:
        return struct.pack("!I", 0x80000000 | value)
    return struct.pack("!Q", 0xC000000000000000 | value)


def crypto_frame(offset, data):
    return b"\x06" + varint(offset) + varint(len(data)) + data


PING = b"\x01"


def initial(frames, *, dcid, scid=b"\xc1\x1e\x47", version=V1, packet_number=0, pad_to=None, token=b""):
    """One protected Initial packet carrying `frames` (4-byte packet number), with PADDING frames
    added so that the packet is `pad_to` bytes long when given."""
    def header(payload_length):
        first = 0xC0 | (_INITIAL_TYPE_BITS[version] << 4) | 0x03  # packet number length 4
        length = 4 + payload_length + 16
        return (bytes([first]) + struct.pack("!I", version) + bytes([len(dcid)]) + dcid
                + bytes([len(scid)]) + scid + varint(len(token)) + token
                + struct.pack("!H", 0x4000 | length))

    if pad_to is not None:
        missing = pad_to - len(header(len(frames))) - 4 - len(frames) - 16
        if missing > 0:
            frames = frames + bytes(missing)
    key, iv, hp = client_keys(dcid, version)
    head = header(len(frames)) + struct.pack("!I", packet_number)
    nonce = iv[:4] + bytes(a ^ b for a, b in zip(iv[4:], struct.pack("!Q", packet_number)))
    sealed = AESGCM(key).encrypt(nonce, frames, head)
    packet = bytearray(head + sealed)
    pn_offset = len(head) - 4
    sample = bytes(packet[pn_offset + 4:pn_offset + 20])
    encryptor = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = encryptor.update(sample) + encryptor.finalize()
    packet[0] ^= mask[0] & 0x0F
    for i in range(4):
        packet[pn_offset + i] ^= mask[1 + i]
    return bytes(packet)


def split_hello(message, cuts, *, dcid, pad_to=1200, extra_frames=b""):
    """The handshake message cut at `cuts` into CRYPTO frames, one Initial (its own datagram,
    padded) each; packet numbers 0, 1, 2... in message order."""
    bounds = [0, *cuts, len(message)]
    return [initial(extra_frames + crypto_frame(a, message[a:b]), dcid=dcid, packet_number=i, pad_to=pad_to)
            for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]


# RFC 9001 5.8 and RFC 9369 3.3.3: the Retry Integrity Tag's fixed key and nonce.
_RETRY_KEY = {V1: (bytes.fromhex("be0c690b9f66575a1d766b54e368c84e"), bytes.fromhex("461599d35d632bf2239825bb")),
              V2: (bytes.fromhex("8fb4b01b56ac48e260fbcbcead7ccc92"), bytes.fromhex("d86969bc2d7c6d9990efb04a"))}
_RETRY_TYPE_BITS = {V1: 0b11, V2: 0b00}


def retry(*, client_scid, new_scid, token, original_dcid, version=V1, break_tag=False):
    """A server's Retry (RFC 9000 17.2.5) to the client whose SCID is `client_scid` and whose
    first DCID was `original_dcid`, with its integrity tag; `break_tag` flips one of its bits.
    Checked against RFC 9001 A.4 by `retry_self_check()`."""
    packet = (bytes([0xC0 | (_RETRY_TYPE_BITS[version] << 4)]) + struct.pack("!I", version)
              + bytes([len(client_scid)]) + client_scid + bytes([len(new_scid)]) + new_scid + token)
    key, nonce = _RETRY_KEY[version]
    tag = AESGCM(key).encrypt(nonce, b"", bytes([len(original_dcid)]) + original_dcid + packet)
    if break_tag:
        tag = bytes([tag[0] ^ 0x01]) + tag[1:]
    return packet + tag


def retry_self_check():
    """RFC 9001 Appendix A.4's Retry (its first byte's unused bits are 0xf there)."""
    built = retry(client_scid=b"", new_scid=bytes.fromhex("f067a5502a4262b5"), token=b"token",
                  original_dcid=bytes.fromhex("8394c8f03e515708"))
    published = bytes.fromhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba")
    assert built[1:-16] == published[1:-16]
    key, nonce = _RETRY_KEY[V1]
    assert AESGCM(key).encrypt(nonce, b"", b"\x08" + bytes.fromhex("8394c8f03e515708") + published[:-16]) \
        == published[-16:]


def version_negotiation(*, client_scid, client_dcid, versions):
    """A server's Version Negotiation (RFC 9000 17.2.1): the client's connection IDs swapped, then
    the versions it supports."""
    return (b"\x80" + struct.pack("!I", 0) + bytes([len(client_scid)]) + client_scid
            + bytes([len(client_dcid)]) + client_dcid + b"".join(struct.pack("!I", v) for v in versions))
