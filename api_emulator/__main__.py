"""Allow `python -m api_emulator`."""

import sys

from api_emulator.cli import main

sys.exit(main())
