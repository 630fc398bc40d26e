"""Read and write safetensors files without the `safetensors` package.

The format (https://github.com/huggingface/safetensors): an 8-byte
little-endian unsigned header length N, N bytes of UTF-8 JSON mapping each
tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into
the data section that follows) and an optional "__metadata__" object of
string values, then the raw row-major little-endian tensor bytes. Loading runs
no code, unlike torch.load of a pickle.

load() checks what papscope's Go reader checks: offsets that tile the data
section exactly, sizes that match dtype and shape, no duplicate names.
"""

import json
import struct
import sys

import torch

# safetensors dtype names and the torch dtypes they map to.
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}

MAX_HEADER = 100 << 20

if sys.byteorder != "little":  # the format is little-endian; so are x86-64 and arm64 hosts
    raise ImportError("papscope_torch.safetensors_io needs a little-endian host")


def _element_size(dtype):
    return torch.empty((), dtype=dtype).element_size()


def encode(tensors, metadata=None):
    """Return the bytes of a safetensors file holding tensors (name -> tensor) and metadata (str -> str)."""
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"safetensors metadata must map str to str, got {k!r}: {type(v).__name__}")
        header["__metadata__"] = dict(metadata)
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"tensor {name!r} is a {type(t).__name__}, not a torch.Tensor")
        if t.dtype not in NAMES:
            raise ValueError(f"tensor {name!r} has dtype {t.dtype}, which safetensors_io does not write")
        t = t.detach().to("cpu").contiguous()
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16: write its bits
            data = t.view(torch.int16).numpy().tobytes()
        else:
            data = t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)  # align the data section to 8 bytes, as the reference writer does
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def save(path, tensors, metadata=None):
    """Write tensors and metadata to path as safetensors (atomically: a temporary file, then rename)."""
    import os

    data = encode(tensors, metadata)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def decode(data, name="safetensors data"):
    """Parse safetensors bytes; return (tensors: name -> CPU tensor, metadata: dict of str)."""
    if len(data) < 8:
        raise ValueError(f"{name}: {len(data)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError(f"{name}: header length {n} does not fit in {len(data)} bytes")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{name}: the header is not JSON: {e}") from e
    if not isinstance(header, dict):
        raise ValueError(f"{name}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{name}: __metadata__ must map strings to strings")
    body = memoryview(data)[8 + n :]
    spans, tensors = [], {}
    for tname, e in header.items():
        try:
            dtype = DTYPES[e["dtype"]]
            shape = [int(d) for d in e["shape"]]
            begin, end = (int(o) for o in e["data_offsets"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{name}: tensor {tname!r}: bad entry {e!r} ({err})") from err
        count = 1
        for d in shape:
            if d < 0:
                raise ValueError(f"{name}: tensor {tname!r} has a negative dimension in {shape}")
            count *= d
        if not (0 <= begin <= end <= len(body)) or end - begin != count * _element_size(dtype):
            raise ValueError(f"{name}: tensor {tname!r} ({e['dtype']} {shape}) has data_offsets [{begin}, {end}] that do not fit its size or the file")
        spans.append((begin, end, tname))
        raw = bytearray(body[begin:end])
        if count == 0:
            t = torch.empty(shape, dtype=dtype)
        elif dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16).reshape(shape)
        else:
            t = torch.frombuffer(raw, dtype=dtype).reshape(shape)
        tensors[tname] = t
    pos = 0
    for begin, end, tname in sorted(spans):
        if begin != pos:
            raise ValueError(f"{name}: tensor {tname!r} starts at {begin}, want {pos}: the data has a gap or an overlap")
        pos = end
    if pos != len(body):
        raise ValueError(f"{name}: {len(body) - pos} bytes after the last tensor")
    return tensors, metadata


def load(path):
    """Read a safetensors file; return (tensors: name -> CPU tensor, metadata: dict of str)."""
    with open(path, "rb") as f:
        data = f.read()
    return decode(data, path)
