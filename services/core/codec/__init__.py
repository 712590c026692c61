"""Avro single-object encoding of the records on Kafka, with schemas loaded once from schemas/.

Wire format (Avro spec, "single-object encoding")::

    C3 01 | fingerprint: 8 bytes, little-endian CRC-64-AVRO of the schema's canonical form | body
"""

from services.core.codec.avro import (
    Codec,
    CodecError,
    decode_event,
    decode_job,
    encode_event,
    encode_job,
    load_codec,
)

__all__ = [
    "Codec",
    "CodecError",
    "decode_event",
    "decode_job",
    "encode_event",
    "encode_job",
    "load_codec",
]
