from moderation.cli.main import main

raise SystemExit(main())
