"""The local AWS emulator: moto's server plus the adapter that makes it deploy our templates."""
