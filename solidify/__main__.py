from solidify.cli import main

main()
