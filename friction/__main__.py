import sys

from friction.cli import main

sys.exit(main())
