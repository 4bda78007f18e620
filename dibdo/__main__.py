from dibdo.cli import main

raise SystemExit(main())
