#!/usr/bin/env python3
"""torchrun, working on Debian's PyTorch 1.13 under Python 3.11 too: same arguments, same behaviour.

PyTorch 1.13's torchrun fails at start under Python 3.11 with
"AttributeError: 'NoneType' object has no attribute 'get'" (reported in
meta-llama/llama#86; fixed in PyTorch 2.0): Std.from_str("0") looks the value
up by iterating the Std IntFlag, and Python 3.11 no longer yields a flag's
zero member (Std.NONE) when iterating. This wrapper gives from_str the zero
member back, then runs torch.distributed.run's main. On a PyTorch without the
bug it changes nothing: `torchrun ARGS` and `python3 torch/torchrun.py ARGS`
are the same.
"""

import sys

from torch.distributed.elastic.multiprocessing import api
from torch.distributed.run import main

_from_str = api.Std.from_str


def _fixed_from_str(vm):
    std = _from_str(vm)
    if std is None:
        return api.Std.NONE
    if isinstance(std, dict):
        return {k: api.Std.NONE if v is None else v for k, v in std.items()}
    return std


api.Std.from_str = staticmethod(_fixed_from_str)

if __name__ == "__main__":
    sys.exit(main())
