"""The local stack: official emulators, fake-gcs-server and the four services, on loopback."""
