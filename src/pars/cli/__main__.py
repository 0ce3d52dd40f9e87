"""`python -m pars.cli`: the `pars` command, for tests and benchmarks that start processes."""

import sys

from pars.cli.main import main

sys.exit(main())
