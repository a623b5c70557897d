import sys

from ae.cli.main import main

sys.exit(main())
