"""The published-results rows of this checkout (`seqlab.bench.quality`), from anywhere:

    python benchmarks/run.py                 # every row (hours on a 2-core CPU); or seqlab bench quality
    python benchmarks/run.py sms-spam-gru    # one row; `--list` names them all

Data comes from the seqlab cache: SEQLAB_DATA (the Makefile points it at ../shared/data).
"""

from __future__ import annotations

import sys
from pathlib import Path

from seqlab.bench.quality import main

if __name__ == "__main__":
    sys.exit(main(["--root", str(Path(__file__).resolve().parents[1]), *sys.argv[1:]]))
