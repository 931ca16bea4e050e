"""TFRecord files of tf.train.Example records, written without TensorFlow.

The converter's and the renderer's worker processes write every shard. Loading TensorFlow
only to frame records and to serialize three bytes features cost each worker seconds of
start-up; both formats are small and fixed, so they are written here:

- a TFRecord file is a run of records, each: its length (uint64, little-endian), the
  masked CRC-32C of those 8 bytes (uint32), the data, the masked CRC-32C of the data;
- an Example is a protocol buffer: `features` (field 1) holds a map from names to
  Features (map entries: key = field 1, value = field 2), each Feature a `bytes_list`
  (field 1) of `value`s (field 1); every field here is length-delimited.

Reading stays with TensorFlow (tf_crnn/data/schema.py). Tests check these bytes against
tf.io.TFRecordWriter's and the examples against tf.io.parse_example
(tests/test_tfrecords_and_list_files.py).
"""

import struct
from typing import BinaryIO, Dict

import google_crc32c

_MASK_DELTA = 0xA282EAD8
_LENGTH_DELIMITED = 2


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C, rotated right by 15 bits, plus a constant (mod 2^32)."""
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def write_record(handle: BinaryIO, data: bytes) -> None:
    """Appends one framed record to an open binary file."""
    length = struct.pack("<Q", len(data))
    handle.write(length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data)))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def encode_example(features: Dict[str, bytes]) -> bytes:
    """A serialized tf.train.Example whose features are each one bytes value."""
    entries = b"".join(
        _field(1, _field(1, name.encode("utf-8")) + _field(2, _field(1, _field(1, value))))
        for name, value in features.items())
    return _field(1, entries)
