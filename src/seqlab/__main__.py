"""`python -m seqlab …` (and so `torchrun -m seqlab train …`) runs the CLI."""

from seqlab.cli import main

raise SystemExit(main())
