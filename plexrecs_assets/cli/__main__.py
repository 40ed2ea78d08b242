from plexrecs_assets.cli import main

main()
