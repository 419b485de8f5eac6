from emulator.local import main

main()
