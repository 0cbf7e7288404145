"""`python -m kofu.cli`: the same as the `kofu` command."""

import sys

from kofu.cli.app import main

sys.exit(main())
