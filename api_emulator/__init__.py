"""A local emulator of the vendor APIs our taps read: a real HTTP server on loopback."""

from api_emulator.core import EmulatorServer, VendorApp

__all__ = ["EmulatorServer", "VendorApp"]
