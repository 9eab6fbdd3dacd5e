from solidify.cli import main

# Guarded: worker processes import this module again and must not run the command.
if __name__ == "__main__":
    main()
